/* Hall screens, missed list (signage/hall_blocks.py::missed): page through the missed patients so that every
   one of them is shown within one loop (issue 14.4). Dash redraws the block on every ticket event and on the
   30 s re-sync, which restarted a CSS scroll before it reached the end; so the pages are kept here, by
   ticket id, and re-applied to whatever rows the latest redraw put in the block. A page shows the first rows
   not yet shown in this loop; when every present ticket has been shown, a new loop starts. */
(function () {
    "use strict";
    var loops = {};  // per track key: {shown: {ticketId: true}, page: [ticketIds], until: ms, count: n}

    function pick(ids, st, n) {
        var rest = ids.filter(function (id) { return !st.shown[id]; });
        if (!rest.length) {
            st.shown = {};
            st.count += 1;
            rest = ids;
        }
        var page = rest.slice(0, n);
        page.forEach(function (id) { st.shown[id] = true; });
        return page;
    }

    function apply(track, now) {
        var section = track.closest("[data-block]");
        var key = section ? section.id : "missed";
        var n = parseInt(track.getAttribute("data-rows"), 10) || 1;
        var period = (parseFloat(track.getAttribute("data-seconds")) || 8) * 1000;
        var st = loops[key] || (loops[key] = {shown: {}, page: [], until: 0, count: 0});
        var rows = Array.prototype.slice.call(track.querySelectorAll(".hall-missed-row"));
        var ids = rows.map(function (r) { return r.getAttribute("data-ticket"); });
        var page = st.page.filter(function (id) { return ids.indexOf(id) >= 0; });
        if (!page.length || now >= st.until) {
            page = pick(ids, st, n);
            st.until = now + period;
        }
        st.page = page;
        rows.forEach(function (r) {
            r.classList.toggle("hall-off", page.indexOf(r.getAttribute("data-ticket")) < 0);
        });
        var pages = Math.max(1, Math.ceil(ids.length / n));
        track.setAttribute("data-loop", String(st.count));
        track.setAttribute("data-pages", String(pages));
    }

    function tick() {
        var now = Date.now();
        var tracks = document.querySelectorAll(".hall-paged");
        for (var i = 0; i < tracks.length; i++) { apply(tracks[i], now); }
    }

    window.setInterval(tick, 500);
    // Re-apply right after a redraw (before the browser paints it), so a new list never flashes in full.
    new MutationObserver(tick).observe(document.documentElement, {childList: true, subtree: true});
})();
