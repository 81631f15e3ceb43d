// Record lists and boards: column picker, filter builder rows, multi-level sort, row clicks,
// kanban moves. The server renders everything; this only wires the controls to it.
(function () {
  "use strict";

  function listForm() { return document.getElementById("list-form"); }

  function submitList() {
    var form = listForm();
    if (form) form.requestSubmit();
  }

  // -- columns: tick to show, drag to reorder; either reloads the table -----------------------
  // A JS property, not an attribute: htmx's history snapshots must not carry it.
  function once(node) {
    if (node.cfSortable) return false;
    node.cfSortable = true;
    return true;
  }

  function initColumns() {
    var list = document.getElementById("column-list");
    if (!list || !window.Sortable || !once(list)) return;
    window.Sortable.create(list, {
      handle: ".cf-drag-handle",
      animation: 150,
      onEnd: function (event) {
        if (event.oldIndex !== event.newIndex) submitList();
      },
    });
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.classList && target.classList.contains("cf-autosubmit")) submitList();
  });

  // -- filter builder: each row's operators and value input follow its field ----------------
  function filterFields() {
    var node = document.getElementById("filter-fields");
    return node ? JSON.parse(node.textContent) : {};
  }

  function valueInput(spec, op, current, label) {
    var input;
    if (spec && spec.kind === "choice") {
      input = document.createElement("select");
      input.className = "form-select form-select-sm w-auto";
      spec.choices.forEach(function (choice) {
        var option = document.createElement("option");
        option.value = choice[0];
        option.textContent = choice[1];
        if (choice[0] === current) option.selected = true;
        input.appendChild(option);
      });
    } else {
      input = document.createElement("input");
      input.className = "form-control form-control-sm";
      input.type = spec && (spec.kind === "date" || spec.kind === "datetime") ? "date" : "text";
      if (spec && spec.kind === "number") input.inputMode = "decimal";
      input.value = current || "";
    }
    input.name = "filter_value";
    input.setAttribute("data-testid", "filter-value");
    if (label) input.setAttribute("aria-label", label);
    var needsValue = !spec || spec.no_value.indexOf(op) === -1;
    input.hidden = !needsValue;
    return input;
  }

  function syncRow(row, keepValues) {
    var specs = filterFields();
    var field = row.querySelector("[name=filter_field]");
    var opSelect = row.querySelector("[name=filter_op]");
    var holder = row.querySelector(".cf-filter-value");
    var spec = specs[field.value];
    var currentOp = keepValues ? opSelect.value : "";
    var old = holder.querySelector("[name=filter_value]");
    var currentValue = keepValues && old ? old.value : "";
    var label = old ? old.getAttribute("aria-label") : "";
    if (!keepValues) {
      opSelect.innerHTML = "";
      (spec ? spec.operators : []).forEach(function (pair) {
        var option = document.createElement("option");
        option.value = pair[0];
        option.textContent = pair[1];
        opSelect.appendChild(option);
      });
    }
    var op = currentOp || opSelect.value;
    holder.innerHTML = "";
    holder.appendChild(valueInput(spec, op, currentValue, label));
  }

  document.addEventListener("change", function (event) {
    var row = event.target.closest && event.target.closest(".cf-filter-row");
    if (!row) return;
    if (event.target.name === "filter_field") syncRow(row, false);
    else if (event.target.name === "filter_op") syncRow(row, true);
  });

  document.addEventListener("click", function (event) {
    var add = event.target.closest && event.target.closest("#filter-add");
    if (add) {
      var template = document.getElementById("filter-row-template");
      var rows = document.getElementById("filter-rows");
      if (!template || !rows) return;
      var row = template.content.firstElementChild.cloneNode(true);
      rows.appendChild(row);
      syncRow(row, false);
      row.querySelector("[name=filter_field]").focus();
      return;
    }
    var remove = event.target.closest && event.target.closest(".cf-filter-remove");
    if (remove) {
      remove.closest(".cf-filter-row").remove();
      return;
    }
  });

  // -- sort: click sorts by a column (htmx does it); shift+click adds a level -----------------
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a.cf-sort");
    if (!link || !event.shiftKey || !window.htmx) return;
    event.preventDefault();
    event.stopPropagation();
    window.htmx.ajax("GET", link.getAttribute("data-sort-add"), {
      source: link, target: "#list-results", swap: "innerHTML",
    });
  }, true);

  // -- rows: a click anywhere on a row opens its card (links inside keep their own target) ---
  document.addEventListener("click", function (event) {
    var row = event.target.closest && event.target.closest("tr.cf-row[data-href]");
    if (!row || event.target.closest("a, button, input, label, select")) return;
    if (window.getSelection && String(window.getSelection()).length) return;
    if (event.ctrlKey || event.metaKey) window.open(row.getAttribute("data-href"), "_blank");
    else window.location.assign(row.getAttribute("data-href"));
  });

  // -- kanban: dropping a card in another column changes the record's value --------------------
  function csrfHeaders() {
    try { return JSON.parse(document.body.getAttribute("hx-headers") || "{}"); }
    catch (e) { return {}; }
  }

  function toastFrom(response) {
    var header = response.headers.get("HX-Trigger");
    if (!header) return;
    try {
      var events = JSON.parse(header);
      Object.keys(events).forEach(function (name) {
        document.dispatchEvent(new CustomEvent(name, { detail: events[name] }));
      });
    } catch (e) { /* not JSON: nothing to show */ }
  }

  function putBack(event) {
    var card = event.item;
    var before = event.from.children[event.oldIndex] || null;
    event.from.insertBefore(card, before);
  }

  function moveCard(board, event) {
    var card = event.item;
    // the list's state goes along, so the moved card comes back with the board's fields
    var body = new URLSearchParams(board.getAttribute("data-state") || "");
    body.set("record", card.getAttribute("data-id"));
    body.set("version", card.getAttribute("data-version"));
    body.set("value", event.to.getAttribute("data-value"));
    card.classList.add("cf-moving");
    var headers = csrfHeaders();
    headers["HX-Request"] = "true";
    fetch(board.getAttribute("data-move-url"), {
      method: "POST", body: body, headers: headers, credentials: "same-origin",
    }).then(function (response) {
      toastFrom(response);
      card.classList.remove("cf-moving");
      if (!response.ok) { putBack(event); updateCounts(board); return null; }
      if (response.status === 204) { card.remove(); return null; }
      return response.text().then(function (html) {
        var holder = document.createElement("div");
        holder.innerHTML = html.trim();
        var fresh = holder.firstElementChild;
        if (fresh) card.replaceWith(fresh);
        updateCounts(board);
      });
    }).catch(function () {
      card.classList.remove("cf-moving");
      putBack(event);
      updateCounts(board);
      document.dispatchEvent(new CustomEvent("cf:toast", {
        detail: { text: board.getAttribute("data-offline-text"), level: "danger" },
      }));
    });
  }

  function updateCounts(board) {
    board.querySelectorAll(".cf-kanban-column").forEach(function (column) {
      var count = column.querySelector(".cf-kanban-count");
      if (count) count.textContent = column.querySelectorAll(".cf-kanban-card").length;
    });
  }

  function initKanban() {
    var board = document.getElementById("kanban");
    if (!board || !window.Sortable || board.getAttribute("data-can-move") !== "true") return;
    board.querySelectorAll(".cf-kanban-cards").forEach(function (list) {
      if (!once(list)) return;
      window.Sortable.create(list, {
        group: "kanban",
        animation: 150,
        sort: false,
        onAdd: function (event) { updateCounts(board); moveCard(board, event); },
      });
    });
  }

  function init() {
    initColumns();
    initKanban();
  }

  // the board is swapped by its quick search; pages come back from htmx's history cache
  document.addEventListener("htmx:afterSettle", init);
  document.addEventListener("htmx:historyRestore", init);

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
