// Manual triage by drag and drop (issue 15 item 10): drag a patient card from the pool or a room onto another
// room card (or the pool); the drop sets the triage-drop store, whose server callback moves the patient.
(function () {
  "use strict";
  function ready() { return window.dash_clientside && window.dash_clientside.set_props; }
  document.addEventListener("dragstart", function (ev) {
    var el = ev.target.closest && ev.target.closest("[data-ticket]");
    if (!el) { return; }
    ev.dataTransfer.setData("text/plain", el.getAttribute("data-ticket"));
    ev.dataTransfer.effectAllowed = "move";
  });
  document.addEventListener("dragover", function (ev) {
    var target = ev.target.closest && ev.target.closest("[data-drop-room]");
    if (target) { ev.preventDefault(); target.classList.add("triage-drop-over"); }
  });
  document.addEventListener("dragleave", function (ev) {
    var target = ev.target.closest && ev.target.closest("[data-drop-room]");
    if (target) { target.classList.remove("triage-drop-over"); }
  });
  document.addEventListener("drop", function (ev) {
    var target = ev.target.closest && ev.target.closest("[data-drop-room]");
    if (!target || !ready()) { return; }
    ev.preventDefault();
    target.classList.remove("triage-drop-over");
    var ticket = parseInt(ev.dataTransfer.getData("text/plain"), 10);
    if (!ticket) { return; }
    window.dash_clientside.set_props("triage-drop", {data: {ticket: ticket, room: target.getAttribute("data-drop-room"),
                                                            at: Date.now()}});
  });
})();
