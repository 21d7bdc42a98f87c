/* RadOps web viewer (影像浏览): frames are rendered by the server (/dicomweb .../rendered); this file only
   lays them out and handles the mouse and keys. Runs on the page that has #viewer-root. No libraries. */
(function () {
  "use strict";

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") { node.textContent = attrs[k]; } else { node.setAttribute(k, attrs[k]); }
    });
    (children || []).forEach(function (c) { node.appendChild(c); });
    return node;
  }
  var SVG = "http://www.w3.org/2000/svg";
  function svg(tag, attrs) {
    var node = document.createElementNS(SVG, tag);
    Object.keys(attrs).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    return node;
  }

  function Viewer(root) {
    this.root = root;
    this.base = root.getAttribute("data-base");
    this.accession = root.getAttribute("data-accession") || "";
    this.studies = JSON.parse(root.getAttribute("data-studies"));
    this.presets = JSON.parse(root.getAttribute("data-presets"));
    this.mode = "window";  // window | pan | measure
    this.linked = true;
    this.panes = [];
    this.active = 0;
    this.build();
  }

  Viewer.prototype.url = function (study, series, sop, extra) {
    return this.base + "/studies/" + study + "/series/" + series + "/instances/" + sop + extra;
  };

  Viewer.prototype.build = function () {
    var self = this;
    var list = el("div", {"class": "viewer-series", id: "viewer-series"});
    this.studies.forEach(function (study) {
      list.appendChild(el("div", {"class": "viewer-study", text: (study.current ? "本次 " : "既往 ") + study.date +
        " " + (study.description || "") + " " + study.accession}));
      study.series.forEach(function (series) {
        if (!series.instances.length) { return; }
        var mid = series.instances[Math.floor(series.instances.length / 2)];
        var thumb = el("img", {"class": "viewer-thumb", alt: series.description,
          src: self.url(study.uid, series.uid, mid, "/rendered?viewport=96,96")});
        var item = el("div", {"class": "viewer-series-item", "data-series": series.uid}, [thumb,
          el("div", {"class": "viewer-series-text", text: "#" + (series.number === null ? "" : series.number) + " " +
            series.modality + " " + series.description + "（" + series.count + " 幅）"}),
          el("div", {"class": "btn-group btn-group-sm"}, [
            el("button", {"class": "btn btn-outline-primary viewer-to-a", type: "button", text: "左"}),
            el("button", {"class": "btn btn-outline-primary viewer-to-b", type: "button", text: "右"})])]);
        item.querySelector(".viewer-to-a").addEventListener("click", function () { self.show(0, study, series); });
        item.querySelector(".viewer-to-b").addEventListener("click", function () { self.show(1, study, series); });
        thumb.addEventListener("click", function () { self.show(self.active, study, series); });
        list.appendChild(item);
      });
    });

    var bar = el("div", {"class": "viewer-toolbar btn-toolbar", id: "viewer-toolbar"});
    var presets = el("div", {"class": "btn-group btn-group-sm me-2"});
    this.presets.forEach(function (p, i) {
      var b = el("button", {"class": "btn btn-outline-secondary", type: "button", id: "viewer-preset-" + i,
        title: p.c + "/" + p.w, text: p.name});
      b.addEventListener("click", function () { self.pane().setWindow(p.c, p.w); self.syncWindow(); });
      presets.appendChild(b);
    });
    bar.appendChild(presets);
    var modes = el("div", {"class": "btn-group btn-group-sm me-2"});
    [["window", "调窗"], ["pan", "平移"], ["measure", "测量"]].forEach(function (m) {
      var b = el("button", {"class": "btn btn-outline-dark viewer-mode", type: "button", id: "viewer-mode-" + m[0],
        text: m[1]});
      b.addEventListener("click", function () { self.setMode(m[0]); });
      modes.appendChild(b);
    });
    bar.appendChild(modes);
    var zoom = el("div", {"class": "btn-group btn-group-sm me-2"});
    [["viewer-zoom-in", "放大", 1.25], ["viewer-zoom-out", "缩小", 0.8], ["viewer-reset", "复位", 0]].forEach(function (z) {
      var b = el("button", {"class": "btn btn-outline-dark", type: "button", id: z[0], text: z[1]});
      b.addEventListener("click", function () { self.pane().zoomBy(z[2]); });
      zoom.appendChild(b);
    });
    bar.appendChild(zoom);
    var link = el("input", {type: "checkbox", id: "viewer-link", "class": "form-check-input me-1"});
    link.checked = true;
    link.addEventListener("change", function () { self.linked = link.checked; });
    bar.appendChild(el("label", {"class": "form-check-label me-3 small"}, [link, document.createTextNode("联动翻页")]));
    var headerBtn = el("button", {"class": "btn btn-sm btn-outline-info", type: "button", id: "viewer-header-toggle",
      text: "DICOM 头"});
    bar.appendChild(headerBtn);
    var keyBtn = el("button", {"class": "btn btn-sm btn-outline-warning ms-2", type: "button", id: "viewer-mark-key",
      title: "标记后在报告编辑中点“导入关键图像”", text: "标记关键图像"});
    this.keyCount = el("span", {"class": "badge bg-warning text-dark ms-1", id: "viewer-key-count"});
    keyBtn.addEventListener("click", function () { self.markKey(); });
    bar.appendChild(keyBtn);
    bar.appendChild(this.keyCount);

    var panes = el("div", {"class": "viewer-panes", id: "viewer-panes"});
    this.panes = [new Pane(this, 0), new Pane(this, 1)];
    this.panes.forEach(function (p) { panes.appendChild(p.node); });
    this.header = el("div", {"class": "viewer-header d-none", id: "viewer-header"});
    headerBtn.addEventListener("click", function () {
      self.header.classList.toggle("d-none");
      self.loadHeader();
    });
    var main = el("div", {"class": "viewer-main"}, [bar, panes, this.header]);
    this.root.appendChild(el("div", {"class": "viewer-layout"}, [list, main]));

    document.addEventListener("keydown", function (e) { self.key(e); });
    this.setMode("window");
    if (!this.showPairing()) {
      var first = this.studies[0];
      var firstSeries = first.series.filter(function (s) { return s.instances.length; });
      if (firstSeries.length) { this.show(0, first, firstSeries[0]); }
    }
    this.pane(0);
    var marked = this.keys().length;
    this.keyCount.textContent = marked ? String(marked) : "";
  };

  // A reconstruction exam (LN-8): its result series on the left, the source series it was made from on the
  // right (the page's data-pairing, from the exam's link); false when there is none or it is not archived.
  Viewer.prototype.showPairing = function () {
    var pairing = JSON.parse(this.root.getAttribute("data-pairing") || "null");
    if (!pairing) { return false; }
    var studies = this.studies;
    function find(ref) {
      for (var i = 0; i < studies.length; i++) {
        if (studies[i].uid !== ref.study) { continue; }
        for (var j = 0; j < studies[i].series.length; j++) {
          var se = studies[i].series[j];
          if (se.uid === ref.series && se.instances.length) { return [studies[i], se]; }
        }
      }
      return null;
    }
    var left = find(pairing.left), right = find(pairing.right);
    if (!left || !right) { return false; }
    this.show(0, left[0], left[1]);
    this.show(1, right[0], right[1]);
    this.root.setAttribute("data-paired", "1");
    return true;
  };

  Viewer.prototype.pane = function (index) {
    if (index !== undefined) {
      this.active = index;
      this.panes.forEach(function (p, i) { p.node.classList.toggle("viewer-active", i === index); });
      this.publish();
    }
    return this.panes[this.active];
  };

  // LN-9: the image the active pane shows, for the report editor of the same exam in another tab of this
  // browser (localStorage is shared by the origin's tabs and outlives this page: "what the viewer last showed").
  var STORE = "radops.viewer.";
  var MAX_KEYS = 8;
  function storage(fn) {
    try { return fn(window.localStorage); } catch (e) { return null; }  // storage off or full: nothing published
  }

  Viewer.prototype.position = function () {
    var p = this.panes[this.active];
    if (!p || !p.series) { return null; }
    var number = (p.series.numbers || [])[p.index];
    return {accession: this.accession, study_uid: p.study.uid, series_uid: p.series.uid, sop_uid: p.sop(),
      frame: 1, window: p.window ? [Math.round(p.window[0]), Math.round(p.window[1])] : null,
      series: p.series.number, image: number === undefined || number === null ? p.index + 1 : number,
      at: Date.now()};
  };

  Viewer.prototype.publish = function () {
    var pos = this.position();
    if (!pos || !this.accession) { return; }
    storage(function (s) { s.setItem(STORE + pos.accession, JSON.stringify(pos)); });
    this.root.setAttribute("data-position", pos.series + "/" + pos.image);
  };

  Viewer.prototype.keys = function () {
    var key = STORE + "keys." + this.accession;
    var list = storage(function (s) { return JSON.parse(s.getItem(key) || "[]"); });
    return Array.isArray(list) ? list : [];
  };

  Viewer.prototype.markKey = function () {
    var pos = this.position();
    if (!pos || !this.accession) { return; }
    var list = this.keys().filter(function (k) { return k.sop_uid !== pos.sop_uid; });
    list.push(pos);
    list = list.slice(-MAX_KEYS);
    var key = STORE + "keys." + this.accession;
    storage(function (s) { s.setItem(key, JSON.stringify(list)); });
    this.keyCount.textContent = String(list.length);
    this.root.setAttribute("data-keys", String(list.length));
  };

  Viewer.prototype.show = function (index, study, series) {
    this.pane(index).load(study, series);
    this.root.classList.toggle("viewer-two", !!this.panes[1].series);
  };

  Viewer.prototype.setMode = function (mode) {
    this.mode = mode;
    this.root.querySelectorAll(".viewer-mode").forEach(function (b) {
      b.classList.toggle("active", b.id === "viewer-mode-" + mode);
    });
    this.root.setAttribute("data-mode", mode);
  };

  Viewer.prototype.scrolled = function (from) {
    if (!this.linked) { return; }
    this.panes.forEach(function (p) {
      if (p !== from && p.series) { p.goFraction(from.fraction()); }
    });
  };

  Viewer.prototype.syncWindow = function () { this.loadHeader(); };

  Viewer.prototype.key = function (e) {
    if (!document.body.contains(this.root) || /INPUT|TEXTAREA|SELECT/.test(e.target.tagName) && e.target.type !== "range") {
      return;
    }
    var steps = {ArrowDown: 1, ArrowRight: 1, PageDown: 10, ArrowUp: -1, ArrowLeft: -1, PageUp: -10};
    var p = this.pane();
    if (!p.series) { return; }
    if (e.key in steps) { p.go(p.index + steps[e.key]); e.preventDefault(); }
    else if (e.key === "Home") { p.go(0); e.preventDefault(); }
    else if (e.key === "End") { p.go(p.series.instances.length - 1); e.preventDefault(); }
  };

  Viewer.prototype.loadHeader = function () {
    var p = this.pane();
    if (this.header.classList.contains("d-none") || !p.series) { return; }
    var self = this;
    var sop = p.sop();
    fetch(this.url(p.study.uid, p.series.uid, sop, "/header"), {credentials: "same-origin"})
      .then(function (r) { return r.json(); })
      .then(function (data) {
        if (p.sop() !== sop) { return; }
        var rows = (data.rows || []).map(function (row) {
          return el("tr", {}, [el("td", {text: row[0]}), el("td", {text: row[1]}), el("td", {text: row[2]})]);
        });
        self.header.replaceChildren(el("table", {"class": "table table-sm table-striped viewer-header-table"}, [
          el("thead", {}, [el("tr", {}, [el("th", {text: "标签"}), el("th", {text: "名称"}), el("th", {text: "值"})])]),
          el("tbody", {}, rows)]));
      });
  };

  function Pane(viewer, index) {
    var self = this;
    this.viewer = viewer;
    this.index = 0;
    this.slot = index;
    this.zoom = 1; this.panX = 0; this.panY = 0;
    this.window = null;  // [centre, width]; null: the instance's own
    this.spacing = null;
    this.img = el("img", {"class": "viewer-image", id: "viewer-image-" + index, draggable: "false", alt: ""});
    this.overlay = svg("svg", {"class": "viewer-overlay", id: "viewer-overlay-" + index, viewBox: "0 0 1 1",
      preserveAspectRatio: "none"});
    this.stage = el("div", {"class": "viewer-stage"}, [this.img]);
    this.stage.appendChild(this.overlay);
    this.frame = el("div", {"class": "viewer-frame", id: "viewer-frame-" + index, tabindex: "0"}, [this.stage]);
    this.slider = el("input", {type: "range", min: "0", max: "0", value: "0", "class": "form-range viewer-slider",
      id: "viewer-slider-" + index});
    this.info = el("div", {"class": "viewer-info", id: "viewer-info-" + index});
    this.measure = el("div", {"class": "viewer-measure", id: "viewer-measure-" + index});
    this.node = el("div", {"class": "viewer-pane", id: "viewer-pane-" + index},
      [this.frame, this.slider, this.info, this.measure]);
    this.slider.addEventListener("input", function () { self.go(parseInt(self.slider.value, 10)); });
    this.frame.addEventListener("wheel", function (e) {
      e.preventDefault();
      viewer.pane(self.slot);
      if (e.ctrlKey) { self.zoomBy(e.deltaY < 0 ? 1.1 : 0.9); return; }
      self.go(self.index + (e.deltaY > 0 ? 1 : -1));
    }, {passive: false});
    this.frame.addEventListener("mousedown", function (e) { self.down(e); });
    this.pending = null;
    this.loading = false;
    this.img.addEventListener("load", function () { self.loaded(); });
    this.img.addEventListener("error", function () { self.loaded(); });
  }

  Pane.prototype.load = function (study, series) {
    this.study = study; this.series = series;
    this.window = null; this.zoom = 1; this.panX = 0; this.panY = 0;
    this.slider.max = String(series.instances.length - 1);
    this.clearMeasure();
    this.fetchSpacing();
    this.go(Math.floor(series.instances.length / 2), true);
    this.transform();
  };

  Pane.prototype.sop = function () { return this.series.instances[this.index]; };
  Pane.prototype.fraction = function () {
    var n = this.series.instances.length;
    return n > 1 ? this.index / (n - 1) : 0;
  };
  Pane.prototype.goFraction = function (f) {
    this.go(Math.round(f * (this.series.instances.length - 1)), true);
  };

  Pane.prototype.go = function (i, quiet) {
    if (!this.series) { return; }
    var n = this.series.instances.length;
    i = Math.max(0, Math.min(n - 1, i));
    var moved = i !== this.index;
    this.index = i;
    if (moved) { this.clearMeasure(); }  // a length belongs to the slice it was drawn on
    this.slider.value = String(i);
    this.render();
    if (moved && !quiet) { this.viewer.scrolled(this); }
    if (this.viewer.pane() === this) { this.viewer.loadHeader(); }
  };

  Pane.prototype.src = function () {
    var extra = "/rendered";
    if (this.window) { extra += "?window=" + Math.round(this.window[0]) + "," + Math.max(1, Math.round(this.window[1])); }
    return this.viewer.url(this.study.uid, this.series.uid, this.sop(), extra);
  };

  Pane.prototype.render = function () {
    var src = this.src();
    if (this.loading) { this.pending = src; } else { this.loading = true; this.img.src = src; }
    var number = (this.series.numbers || [])[this.index];
    this.info.textContent = (this.index + 1) + " / " + this.series.instances.length + "   序列 " +
      (this.series.number === null ? "—" : this.series.number) + " 图像 " +
      (number === undefined || number === null ? "—" : number) + "   " +
      (this.window ? "窗位 " + Math.round(this.window[0]) + " 窗宽 " + Math.round(this.window[1]) : "默认窗") +
      "   缩放 " + this.zoom.toFixed(2) + "×";
    this.node.setAttribute("data-index", String(this.index));
    this.node.setAttribute("data-window", this.window ? this.window.join(",") : "");
    if (this.viewer.panes[this.viewer.active] === this) { this.viewer.publish(); }
  };

  Pane.prototype.loaded = function () {
    this.loading = false;
    if (this.img.naturalWidth) {
      this.overlay.setAttribute("viewBox", "0 0 " + this.img.naturalWidth + " " + this.img.naturalHeight);
      this.stage.style.aspectRatio = this.img.naturalWidth + " / " + this.img.naturalHeight;
    }
    this.node.setAttribute("data-loaded", this.img.getAttribute("src"));
    if (this.pending && this.pending !== this.img.getAttribute("src")) {
      var next = this.pending; this.pending = null; this.loading = true; this.img.src = next;
    } else { this.pending = null; }
  };

  Pane.prototype.setWindow = function (c, w) { this.window = [c, Math.max(1, w)]; this.render(); };

  Pane.prototype.zoomBy = function (f) {
    if (f === 0) { this.zoom = 1; this.panX = 0; this.panY = 0; } else {
      this.zoom = Math.max(0.25, Math.min(8, this.zoom * f));
    }
    this.transform();
    if (this.series) { this.render(); }
  };

  Pane.prototype.transform = function () {
    this.stage.style.transform = "translate(" + this.panX + "px," + this.panY + "px) scale(" + this.zoom + ")";
  };

  Pane.prototype.fetchSpacing = function () {
    var self = this;
    var sop = this.series.instances[0];
    this.spacing = null;
    fetch(this.viewer.url(this.study.uid, this.series.uid, sop, "/header"), {credentials: "same-origin"})
      .then(function (r) { return r.json(); })
      .then(function (d) { self.spacing = d.pixel_spacing || null; });
  };

  Pane.prototype.imagePoint = function (e) {
    var r = this.img.getBoundingClientRect();
    return [(e.clientX - r.left) / r.width * this.img.naturalWidth, (e.clientY - r.top) / r.height * this.img.naturalHeight];
  };

  Pane.prototype.clearMeasure = function () {
    this.overlay.replaceChildren();
    this.measure.textContent = "";
  };

  Pane.prototype.down = function (e) {
    if (e.button !== 0 || !this.series) { return; }
    e.preventDefault();
    this.viewer.pane(this.slot);
    var self = this, mode = this.viewer.mode;
    var x0 = e.clientX, y0 = e.clientY, pan0 = [this.panX, this.panY];
    var win0 = this.window || this.defaultWindow();
    var p0 = this.imagePoint(e), line = null, label = null;
    if (mode === "measure") {
      this.clearMeasure();
      line = svg("line", {x1: p0[0], y1: p0[1], x2: p0[0], y2: p0[1], "class": "viewer-line"});
      label = svg("text", {x: p0[0], y: p0[1], "class": "viewer-label",
        "font-size": Math.max(6, Math.round(this.img.naturalWidth / 24))});
      this.overlay.appendChild(line); this.overlay.appendChild(label);
    }
    function move(ev) {
      var dx = ev.clientX - x0, dy = ev.clientY - y0;
      if (mode === "pan") {
        self.panX = pan0[0] + dx; self.panY = pan0[1] + dy; self.transform();
      } else if (mode === "window") {
        self.setWindow(win0[0] + dy * 2, win0[1] + dx * 4);
      } else if (mode === "measure") {
        var p = self.imagePoint(ev);
        line.setAttribute("x2", p[0]); line.setAttribute("y2", p[1]);
        var mm = self.length(p0, p);
        label.setAttribute("x", p[0] + 4); label.setAttribute("y", p[1] - 4);
        label.textContent = mm === null ? "无像素间距" : mm.toFixed(1) + " mm";
        self.measure.textContent = mm === null ? "该图像无 PixelSpacing，无法测量" : "长度 " + mm.toFixed(1) + " mm";
        self.node.setAttribute("data-measure-mm", mm === null ? "" : mm.toFixed(2));
      }
    }
    function up() {
      document.removeEventListener("mousemove", move);
      document.removeEventListener("mouseup", up);
    }
    document.addEventListener("mousemove", move);
    document.addEventListener("mouseup", up);
  };

  Pane.prototype.defaultWindow = function () {
    var p = this.viewer.presets[1];
    return [p.c, p.w];
  };

  Pane.prototype.length = function (a, b) {
    if (!this.spacing) { return null; }
    var dy = (b[1] - a[1]) * this.spacing[0], dx = (b[0] - a[0]) * this.spacing[1];
    return Math.sqrt(dx * dx + dy * dy);
  };

  function start() {
    var root = document.getElementById("viewer-root");
    if (root && !root.getAttribute("data-ready")) {
      root.setAttribute("data-ready", "1");
      window.radopsViewer = new Viewer(root);
    }
  }
  new MutationObserver(start).observe(document.documentElement, {childList: true, subtree: true});
  document.addEventListener("DOMContentLoaded", start);
}());
