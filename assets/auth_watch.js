/* Every Dash callback is an API (backend/web/callback_guard.py): once the session has ended, the guard answers
   401 before any callback runs. Pages that keep running on their own (the cockpit wall screen) read
   window.radopsAuthLost to say 已断开 instead of going quietly stale. */
(function () {
  if (!window.fetch || window.radopsFetchWatched) { return; }
  window.radopsFetchWatched = true;
  var original = window.fetch;
  window.fetch = function (input) {
    return original.apply(this, arguments).then(function (resp) {
      var url = typeof input === "string" ? input : (input && input.url) || "";
      if (url.indexOf("_dash-update-component") !== -1) {
        window.radopsAuthLost = resp.status === 401;
      }
      return resp;
    });
  };
})();
