/* Emergency-report reminder sound: three short tones made with the WebAudio API (no audio files). */
(function () {
  "use strict";
  var audio = null;

  function context() {
    var Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) { return null; }
    audio = audio || new Ctx();
    if (audio.state === "suspended") { audio.resume(); }
    return audio;
  }

  function tone(ctx, at, freq) {
    var osc = ctx.createOscillator();
    var gain = ctx.createGain();
    osc.type = "sine";
    osc.frequency.value = freq;
    gain.gain.setValueAtTime(0.0001, at);
    gain.gain.exponentialRampToValueAtTime(0.3, at + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.22);
    osc.connect(gain).connect(ctx.destination);
    osc.start(at);
    osc.stop(at + 0.25);
  }

  window.radopsEr = {
    beeps: 0,
    beep: function () {
      window.radopsEr.beeps += 1;
      try {
        var ctx = context();
        if (!ctx) { return; }
        var t = ctx.currentTime + 0.05;
        tone(ctx, t, 880); tone(ctx, t + 0.3, 880); tone(ctx, t + 0.6, 1175);
      } catch (e) { /* a browser that refuses audio still shows the popup */ }
    }
  };
  // Browsers start audio only after a user gesture: unlock on the first click or key press.
  ["click", "keydown"].forEach(function (name) {
    window.addEventListener(name, function () { context(); }, {once: true});
  });
}());
