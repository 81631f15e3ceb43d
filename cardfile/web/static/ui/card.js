// Record cards: child-table rows (add, remove, drag to reorder), link search-as-you-type,
// quick create from a link field, the chosen choice's colour, fields shown or hidden by the
// layout's visible_if as the user types. Plain DOM + htmx; no framework.
(function () {
  "use strict";

  var counter = 0;

  function formOf(element) {
    return element.closest("form");
  }

  function linesChanged(element) {
    var form = formOf(element);
    if (form) form.dispatchEvent(new CustomEvent("cf:lines-changed", { bubbles: true }));
  }

  function addLine(button) {
    var box = button.closest(".cf-lines");
    var template = box.querySelector("template.cf-line-template");
    var body = box.querySelector(".cf-lines-body");
    if (!template || !body) return;
    counter += 1;
    var key = "n" + Date.now().toString(36) + counter;
    var html = template.innerHTML.split("__KEY__").join(key);
    var holder = document.createElement("tbody");
    holder.innerHTML = html.trim();
    var row = holder.firstElementChild;
    body.appendChild(row);
    if (window.htmx) window.htmx.process(row);
    var first = row.querySelector("input:not([type=hidden]), select, textarea");
    if (first) first.focus();
    linesChanged(body);
  }

  function removeLine(button) {
    var row = button.closest("tr");
    var body = row && row.parentElement;
    if (!row) return;
    row.remove();
    if (body) linesChanged(body);
  }

  function makeSortable(root) {
    if (!window.Sortable) return;
    root.querySelectorAll(".cf-lines-body[data-sortable='1']").forEach(function (body) {
      if (body.dataset.cfSortable) return;
      body.dataset.cfSortable = "1";
      window.Sortable.create(body, {
        handle: ".cf-drag-handle",
        animation: 150,
        onEnd: function () { linesChanged(body); },
      });
    });
  }

  // a choice select shows the chosen choice's colour; the server renders it on load and puts
  // each option's colour, checked by the same rule as list badges, in data-colour
  function showChoiceColour(select) {
    var option = select.options[select.selectedIndex];
    var colour = option && option.getAttribute("data-colour");
    select.style.borderInlineStartWidth = colour ? "0.5rem" : "";
    select.style.borderInlineStartColor = colour || "";
  }

  function chooseOption(option) {
    var link = option.closest(".cf-link");
    if (!link) return;
    var id = option.getAttribute("data-id");
    var label = option.getAttribute("data-label");
    setLink(link, id, label);
  }

  function setLink(link, id, label) {
    var name = link.getAttribute("data-name");
    var search = link.querySelector(".cf-link-search");
    var options = link.querySelector(".cf-link-options");
    if (link.getAttribute("data-multiple") === "1") {
      var chips = link.querySelector(".cf-chips");
      var exists = Array.prototype.some.call(
        chips.querySelectorAll("input[name='" + CSS.escape(name) + "']"),
        function (input) { return input.value === String(id); }
      );
      if (!exists) {
        var chip = document.createElement("span");
        chip.className = "badge text-bg-secondary cf-chip";
        var idInput = document.createElement("input");
        idInput.type = "hidden"; idInput.name = name; idInput.value = id;
        var labelInput = document.createElement("input");
        labelInput.type = "hidden"; labelInput.name = name + "__label"; labelInput.value = label;
        var close = document.createElement("button");
        close.type = "button";
        close.className = "btn-close btn-close-white ms-1 cf-chip-remove";
        close.setAttribute("aria-label", "×");
        chip.appendChild(idInput);
        chip.appendChild(labelInput);
        chip.appendChild(document.createTextNode(label));
        chip.appendChild(close);
        chips.appendChild(chip);
      }
      if (search) search.value = "";
    } else {
      var hidden = link.querySelector(".cf-link-id");
      if (hidden) hidden.value = id;
      if (search) search.value = label;
    }
    if (options) options.innerHTML = "";
    var target = link.querySelector(".cf-link-id") || search;
    if (target) target.dispatchEvent(new Event("input", { bubbles: true }));
  }

  document.addEventListener("click", function (event) {
    var target = event.target;
    var add = target.closest(".cf-line-add");
    if (add) { event.preventDefault(); addLine(add); return; }
    var remove = target.closest(".cf-line-remove");
    if (remove) { event.preventDefault(); removeLine(remove); return; }
    var option = target.closest(".cf-link-option");
    if (option) { event.preventDefault(); chooseOption(option); return; }
    var chipRemove = target.closest(".cf-chip-remove");
    if (chipRemove) {
      var chip = chipRemove.closest(".cf-chip");
      var form = formOf(chip);
      chip.remove();
      if (form) form.dispatchEvent(new Event("input", { bubbles: true }));
      return;
    }
    // a click elsewhere closes open link option lists
    document.querySelectorAll(".cf-link-options").forEach(function (list) {
      if (!list.parentElement.contains(target)) list.innerHTML = "";
    });
  });

  document.addEventListener("input", function (event) {
    var search = event.target.closest && event.target.closest(".cf-link-search");
    if (!search) return;
    var link = search.closest(".cf-link");
    // typing over a chosen link forgets the chosen id until an option is picked again
    var hidden = link && link.getAttribute("data-multiple") !== "1" && link.querySelector(".cf-link-id");
    if (hidden) hidden.value = "";
  });

  document.addEventListener("keydown", function (event) {
    var search = event.target.closest && event.target.closest(".cf-link-search");
    if (!search || event.key !== "Enter") return;
    // Enter in a link search picks the first option instead of submitting the form
    var first = search.closest(".cf-link").querySelector(".cf-link-option");
    event.preventDefault();
    if (first) chooseOption(first);
  });

  document.addEventListener("change", function (event) {
    if (event.target.matches && event.target.matches("select.cf-choice")) showChoiceColour(event.target);
  });

  // options arriving after the user left the search box (or picked one) are not shown
  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    if (!target || !target.classList || !target.classList.contains("cf-link-options")) return;
    var search = target.parentElement.querySelector(".cf-link-search");
    if (search && document.activeElement !== search) event.detail.shouldSwap = false;
  });

  // quick create: the new record fills the link field the "+" was pressed for
  document.addEventListener("cf:quick-created", function (event) {
    var detail = event.detail || {};
    var link = document.querySelector(".cf-link[data-name='" + CSS.escape(detail.for || "") + "']");
    if (link) setLink(link, detail.id, detail.label);
    var modal = document.getElementById("cf-quick-create");
    if (modal && window.bootstrap) window.bootstrap.Modal.getOrCreateInstance(modal).hide();
  });

  // a closed quick-create modal keeps no form behind (its fields would answer for the card's)
  document.addEventListener("hidden.bs.modal", function (event) {
    if (event.target.id !== "cf-quick-create") return;
    var body = document.getElementById("cf-quick-create-body");
    if (body) body.replaceChildren();
  });

  // visible_if while typing: the live draft answers which conditional fields show now
  // (event cf:visibility, {shown: [slugs], hidden: [slugs]}). A hidden field is disabled too,
  // so the form does not send it; sections and tabs left with nothing to show hide with it.
  function toggleField(form, slug, shown) {
    var item = form.querySelector(".cf-item[data-cf-field='" + CSS.escape(slug) + "']");
    if (!item) return;
    item.hidden = !shown;
    item.disabled = !shown;
  }

  function applyVisibility(form, detail) {
    (detail.shown || []).forEach(function (slug) { toggleField(form, slug, true); });
    (detail.hidden || []).forEach(function (slug) { toggleField(form, slug, false); });
    form.querySelectorAll(".cf-section").forEach(function (section) {
      section.hidden = !section.querySelector(".cf-item:not([hidden])");
    });
    form.querySelectorAll("[data-cf-tab-nav]").forEach(function (nav) {
      var pane = document.getElementById(nav.getAttribute("data-cf-tab-nav"));
      nav.hidden = !!pane && !pane.querySelector(".cf-section:not([hidden])");
    });
    var active = form.querySelector("[data-cf-tab-nav] .nav-link.active");
    if (active && active.closest("[data-cf-tab-nav]").hidden) {
      var first = form.querySelector("[data-cf-tab-nav]:not([hidden]) .nav-link");
      if (first && window.bootstrap) window.bootstrap.Tab.getOrCreateInstance(first).show();
    }
  }

  document.addEventListener("cf:visibility", function (event) {
    var form = formOf(event.target);
    if (form && event.detail) applyVisibility(form, event.detail);
  });

  document.addEventListener("DOMContentLoaded", function () { makeSortable(document); });
  document.addEventListener("htmx:load", function (event) { makeSortable(event.detail.elt || document); });
})();
