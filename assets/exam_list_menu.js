/* Exam list (检查列表): right-click a row to open its context menu; double-click opens its details.
   The row's exam id goes into the Dash store "exams-menu-target"; the server renders the menu. */
(function () {
  "use strict";

  function setProps(id, props) {
    // Stores render no DOM node: the exam table's presence tells that this is the exam list page.
    if (window.dash_clientside && window.dash_clientside.set_props && document.getElementById("exams-table")) {
      window.dash_clientside.set_props(id, props);
    }
  }

  function examRow(target) {
    return target && target.closest ? target.closest("#exams-table tr[data-exam-id]") : null;
  }

  function select(row) {
    document.querySelectorAll("#exams-table tr.row-selected").forEach(function (r) {
      r.classList.remove("row-selected");
    });
    row.classList.add("row-selected");
  }

  function hideMenu() {
    var menu = document.getElementById("exams-menu");
    if (menu && menu.style.display !== "none") {
      setProps("exams-menu", {style: {display: "none"}});
    }
  }

  document.addEventListener("contextmenu", function (ev) {
    var row = examRow(ev.target);
    if (!row) { return; }
    ev.preventDefault();
    select(row);
    setProps("exams-menu-target", {data: {
      id: Number(row.getAttribute("data-exam-id")), x: ev.clientX, y: ev.clientY,
      w: window.innerWidth, h: window.innerHeight, ts: Date.now()
    }});
  });

  document.addEventListener("dblclick", function (ev) {
    var row = examRow(ev.target);
    if (!row) { return; }
    select(row);
    setProps("exams-menu-invoked", {data: {
      action: "detail", exam_id: Number(row.getAttribute("data-exam-id")), ts: Date.now()
    }});
  });

  document.addEventListener("click", function (ev) {
    if (!(ev.target.closest && ev.target.closest("#exams-menu"))) { hideMenu(); }
  });
  document.addEventListener("keydown", function (ev) { if (ev.key === "Escape") { hideMenu(); } });
  window.addEventListener("scroll", hideMenu, true);
})();
