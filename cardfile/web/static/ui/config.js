// The configurator's small behaviours: slugs suggested from labels, rows added and removed,
// drag to reorder (SortableJS), formula field insertion, and the card layout editor.
(function () {
  "use strict";

  function slugify(text) {
    var slug = (text || "").normalize("NFKD").replace(/[\u0300-\u036f]/g, "").toLowerCase()
      .replace(/[^a-z0-9]+/g, "_").replace(/^_+|_+$/g, "");
    if (slug && !/^[a-z]/.test(slug)) slug = "f_" + slug;
    return slug.slice(0, 63);
  }

  function init(root) {
    // A label suggests the slug until the slug is edited by hand.
    root.querySelectorAll("[data-cf-slug-source]").forEach(function (label) {
      var slug = document.querySelector(label.getAttribute("data-cf-slug-source"));
      if (!slug || label.dataset.cfBound) return;
      label.dataset.cfBound = "1";
      slug.addEventListener("input", function () { slug.setAttribute("data-cf-slug-edited", ""); });
      label.addEventListener("input", function () {
        if (!slug.hasAttribute("data-cf-slug-edited")) slug.value = slugify(label.value);
      });
    });
    // A formula already written (on an edit page, or typed before htmx took the input over)
    // is checked once at once.
    root.querySelectorAll(".cf-formula textarea[hx-post]").forEach(function (input) {
      if (input.dataset.cfChecked || !input.value.trim() || !window.htmx) return;
      var status = input.closest(".cf-formula").querySelector(".cf-formula-result");
      input.dataset.cfChecked = "1";
      if (status && !status.textContent.trim()) window.htmx.trigger(input, "cf:check");
    });
    if (!window.Sortable) return;
    // Reorderable tables: the new order goes to the enclosing form's "order" input.
    root.querySelectorAll("[data-cf-sortable]").forEach(function (list) {
      if (list.dataset.cfBound) return;
      list.dataset.cfBound = "1";
      window.Sortable.create(list, {
        handle: ".cf-drag-handle",
        animation: 150,
        onEnd: function () {
          var form = list.closest("form");
          var ids = Array.prototype.map.call(list.querySelectorAll(":scope > [data-id]"),
            function (row) { return row.getAttribute("data-id"); });
          form.querySelector("input[name=order]").value = JSON.stringify(ids);
          if (window.htmx) window.htmx.trigger(form, "cf:reordered");
        },
      });
    });
    root.querySelectorAll("[data-cf-sortable-rows]").forEach(function (list) {
      if (list.dataset.cfBound) return;
      list.dataset.cfBound = "1";
      window.Sortable.create(list, { handle: ".cf-drag-handle", animation: 150 });
    });
    initLayout(root);
  }

  // Rows from a <template>: choices, validation rules. A template row's ids hold "__row__",
  // which becomes a number no other row has, so ids stay unique and labels keep their input.
  var rowSeq = 0;
  function numberRow(row) {
    var n = "n" + (++rowSeq);
    [row].concat(Array.prototype.slice.call(row.querySelectorAll("[id], [for]"))).forEach(function (el) {
      ["id", "for"].forEach(function (attr) {
        var value = el.getAttribute(attr);
        if (value && value.indexOf("__row__") !== -1) el.setAttribute(attr, value.split("__row__").join(n));
      });
    });
  }

  document.addEventListener("click", function (event) {
    var add = event.target.closest("[data-cf-add-row]");
    if (add) {
      var box = add.closest("[data-cf-rows]") || add.parentElement.querySelector("[data-cf-rows]");
      var template = box.querySelector(":scope > template");
      var target = box.querySelector("[data-cf-sortable-rows]") || box;
      var clone = template.content.firstElementChild.cloneNode(true);
      numberRow(clone);
      target.insertBefore(clone, target === box ? template : null);
      if (window.htmx) window.htmx.process(clone);
      var first = clone.querySelector("input, textarea");
      if (first) first.focus();
      return;
    }
    var clear = event.target.closest("[data-cf-clear-color]");
    if (clear) {
      var row = clear.closest(".cf-choice");
      row.querySelector("input[name=choice_color], [data-cf-color-value]").value = "";
      row.querySelector(".cf-color-picker").classList.add("cf-no-color");
      return;
    }
    var remove = event.target.closest("[data-cf-remove-row]");
    if (remove) { remove.closest(".cf-row").remove(); return; }
    var insert = event.target.closest("[data-cf-insert]");
    if (insert) {
      var input = insert.closest(".cf-formula").querySelector("textarea");
      var text = insert.getAttribute("data-cf-insert");
      var start = input.selectionStart || 0, end = input.selectionEnd || 0;
      input.value = input.value.slice(0, start) + text + input.value.slice(end);
      input.focus();
      input.selectionStart = input.selectionEnd = start + text.length;
      input.dispatchEvent(new Event("input", { bubbles: true }));
    }
  });

  // -- card layout editor --------------------------------------------------------------------

  function sortableColumn(column) {
    if (column.dataset.cfBound) return;
    column.dataset.cfBound = "1";
    window.Sortable.create(column, { group: "cf-fields", handle: ".cf-drag-handle", animation: 150 });
  }

  function sortableSections(box) {
    if (box.dataset.cfBound) return;
    box.dataset.cfBound = "1";
    window.Sortable.create(box, { group: "cf-sections", handle: ".cf-section-handle", animation: 150 });
  }

  function initLayout(root) {
    root.querySelectorAll("[data-cf-fields]").forEach(sortableColumn);
    root.querySelectorAll("[data-cf-sections]").forEach(sortableSections);
  }

  function fromTemplate(id) {
    var node = document.getElementById(id).content.firstElementChild.cloneNode(true);
    return node;
  }

  function setColumns(section, count) {
    var row = section.querySelector(".cf-columns");
    var columns = row.querySelectorAll(":scope > .cf-column");
    for (var n = columns.length; n < count; n++) {
      var column = document.createElement("div");
      column.className = "col-md cf-column";
      column.setAttribute("data-cf-fields", "");
      row.appendChild(column);
      sortableColumn(column);
    }
    columns = row.querySelectorAll(":scope > .cf-column");
    var keep = columns[count - 1];
    for (var i = columns.length - 1; i >= count; i--) {
      while (columns[i].firstElementChild) keep.appendChild(columns[i].firstElementChild);
      columns[i].remove();
    }
  }

  document.addEventListener("input", function (event) {
    var picker = event.target.closest(".cf-color-picker");
    if (!picker) return;
    picker.closest(".cf-choice").querySelector("input[name=choice_color], [data-cf-color-value]").value = picker.value;
    picker.classList.remove("cf-no-color");
  });

  document.addEventListener("change", function (event) {
    var select = event.target.closest(".cf-section-columns");
    if (select) setColumns(select.closest(".cf-section"), parseInt(select.value, 10));
  });

  document.addEventListener("click", function (event) {
    var layout = document.getElementById("cf-layout");
    if (!layout) return;
    if (event.target.closest("[data-cf-add-tab]")) {
      var tab = fromTemplate("cf-tab-template");
      layout.appendChild(tab);
      tab.querySelector("[data-cf-sections]").appendChild(fromTemplate("cf-section-template"));
      initLayout(tab);
      return;
    }
    var addSection = event.target.closest("[data-cf-add-section]");
    if (addSection) {
      var section = fromTemplate("cf-section-template");
      addSection.closest(".cf-tab").querySelector("[data-cf-sections]").appendChild(section);
      initLayout(section);
      return;
    }
    var removeSection = event.target.closest("[data-cf-remove-section]");
    if (removeSection) {
      var gone = removeSection.closest(".cf-section");
      var sections = layout.querySelectorAll(".cf-section");
      var heir = Array.prototype.find.call(sections, function (s) { return s !== gone; });
      if (!heir) return; // the last section stays
      var column = heir.querySelector(".cf-column");
      gone.querySelectorAll(".cf-layout-field").forEach(function (f) { column.appendChild(f); });
      gone.remove();
      return;
    }
    var removeTab = event.target.closest("[data-cf-remove-tab]");
    if (removeTab) {
      var tabGone = removeTab.closest(".cf-tab");
      var tabs = layout.querySelectorAll(".cf-tab");
      var tabHeir = Array.prototype.find.call(tabs, function (t) { return t !== tabGone; });
      if (!tabHeir) return; // the last tab stays
      var target = tabHeir.querySelector(".cf-column");
      if (!target) {
        var fresh = fromTemplate("cf-section-template");
        tabHeir.querySelector("[data-cf-sections]").appendChild(fresh);
        initLayout(fresh);
        target = fresh.querySelector(".cf-column");
      }
      tabGone.querySelectorAll(".cf-layout-field").forEach(function (f) { target.appendChild(f); });
      tabGone.remove();
    }
  });

  function layoutJson(layout) {
    return {
      tabs: Array.prototype.map.call(layout.querySelectorAll(":scope > .cf-tab"), function (tab) {
        return {
          label: tab.querySelector(".cf-tab-label").value,
          sections: Array.prototype.map.call(tab.querySelectorAll(".cf-section"), function (section) {
            return {
              label: section.querySelector(".cf-section-label").value,
              columns: Array.prototype.map.call(section.querySelectorAll(".cf-column"), function (column) {
                return Array.prototype.map.call(column.querySelectorAll(".cf-layout-field"), function (item) {
                  var entry = { field: parseInt(item.getAttribute("data-field"), 10) };
                  var condition = item.querySelector("textarea").value.trim();
                  if (condition) entry.visible_if = condition;
                  return entry;
                });
              }),
            };
          }),
        };
      }),
    };
  }

  // Forms that destroy something ask first.
  document.addEventListener("submit", function (event) {
    var message = event.target.getAttribute("data-cf-confirm");
    if (message && !window.confirm(message)) event.preventDefault();
  });

  document.addEventListener("submit", function (event) {
    var form = event.target.closest("[data-cf-layout-form]");
    if (!form) return;
    form.querySelector("input[name=layout]").value = JSON.stringify(layoutJson(document.getElementById("cf-layout")));
  });

  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:load", function (event) { init(event.detail.elt); });
})();
