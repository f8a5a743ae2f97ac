// The site's small behaviours, each usable without it: the copy-link control of requirement
// boxes, the requirement index's filters, and opening collapsed code for printing. Everything is
// found through classes and data attributes the preprocessor writes.
(function () {
  'use strict';

  // Copy link: the page's address with the requirement's anchor. The buttons are rendered
  // hidden, so without JavaScript there is no dead control (the ID itself is a link).
  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    // file:// and plain http: a hidden text area and the legacy copy command.
    return new Promise(function (resolve, reject) {
      const area = document.createElement('textarea');
      area.value = text;
      area.setAttribute('readonly', '');
      area.style.position = 'fixed';
      area.style.opacity = '0';
      document.body.appendChild(area);
      area.select();
      const ok = document.execCommand('copy');
      area.remove();
      if (ok) { resolve(); } else { reject(new Error('copy refused')); }
    });
  }

  function initCopyLinks() {
    document.querySelectorAll('button.req-copy[data-anchor]').forEach(function (button) {
      button.hidden = false;
      button.addEventListener('click', function () {
        const url = new URL(window.location.href);
        url.search = '';
        url.hash = button.dataset.anchor;
        copyText(url.href).then(function () {
          button.classList.add('copied');
        }, function () {
          // Could not copy: at least put the link in the address bar.
          window.location.hash = button.dataset.anchor;
          button.classList.add('failed');
        }).finally(function () {
          setTimeout(function () { button.classList.remove('copied', 'failed'); }, 1500);
        });
      });
    });
  }

  // Index filters: each <select data-filter=KEY> keeps the rows whose data-KEY (a
  // space-separated list) contains the chosen value; the text box keeps rows whose text contains
  // every word typed. The state lives in the query string, so a filtered index can be linked.
  function initFilters() {
    const form = document.querySelector('form.req-filters');
    const table = document.querySelector('table.req-index');
    if (!form || !table) { return; }
    const rows = Array.from(table.tBodies[0].rows);
    const controls = Array.from(form.querySelectorAll('[data-filter]'));
    const count = form.querySelector('.req-filter-count');
    const params = new URLSearchParams(window.location.search);
    controls.forEach(function (c) {
      const v = params.get(c.dataset.filter);
      if (v !== null && (c.tagName !== 'SELECT' || Array.from(c.options).some(function (o) { return o.value === v; }))) {
        c.value = v;
      }
    });

    function apply() {
      let shown = 0;
      const words = (form.querySelector('[data-filter="text"]') || { value: '' }).value
        .toLowerCase().split(/\s+/).filter(Boolean);
      rows.forEach(function (row) {
        const keep = controls.every(function (c) {
          if (c.dataset.filter === 'text' || c.value === '') { return true; }
          return (row.dataset[c.dataset.filter] || '').split(' ').indexOf(c.value) !== -1;
        }) && words.every(function (w) { return row.textContent.toLowerCase().indexOf(w) !== -1; });
        row.hidden = !keep;
        if (keep) { shown += 1; }
      });
      if (count) { count.textContent = shown + ' of ' + rows.length + ' requirements'; }
      // Other parameters (mdBook's search and highlight) are kept.
      const query = new URLSearchParams(window.location.search);
      controls.forEach(function (c) {
        if (c.value) { query.set(c.dataset.filter, c.value); } else { query.delete(c.dataset.filter); }
      });
      const search = query.toString();
      const url = window.location.pathname + (search ? '?' + search : '') + window.location.hash;
      window.history.replaceState(null, '', url);
    }

    form.addEventListener('input', apply);
    form.addEventListener('change', apply);
    form.addEventListener('reset', function () { setTimeout(apply, 0); });
    form.addEventListener('submit', function (e) { e.preventDefault(); });
    form.hidden = false;
    apply();
  }

  // Printing: collapsed implementation snippets and test lists are part of the document on paper.
  function initPrint() {
    let opened = [];
    window.addEventListener('beforeprint', function () {
      opened = Array.from(document.querySelectorAll('details.req-impl:not([open]), details.req-tests:not([open])'));
      opened.forEach(function (d) { d.open = true; });
    });
    window.addEventListener('afterprint', function () {
      opened.forEach(function (d) { d.open = false; });
      opened = [];
    });
  }

  function init() {
    initCopyLinks();
    initFilters();
    initPrint();
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', init);
  } else {
    init();
  }
})();
