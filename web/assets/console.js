// The console's only script of its own (htmx does the rest). Everything works without it.
// - Client search: ↓ from the search box moves into the results, ↑/↓ between them, ↑ from the
//   first back to the box; Enter follows the focused result (a plain link). Esc clears.
// - Forms: a submit button is disabled after the first click, so a double click sends once
//   (the server is idempotent anyway).
(function () {
  'use strict';

  function results() {
    return Array.prototype.slice.call(document.querySelectorAll('#results a.result'));
  }

  document.addEventListener('keydown', function (event) {
    var target = event.target;
    if (!(target instanceof HTMLElement)) return;
    var list = results();
    if (target.id === 'q') {
      if (event.key === 'ArrowDown' && list.length) {
        event.preventDefault();
        list[0].focus();
      } else if (event.key === 'Escape') {
        target.value = '';
        target.dispatchEvent(new Event('input', { bubbles: true }));
      }
      return;
    }
    var index = list.indexOf(target);
    if (index < 0) return;
    if (event.key === 'ArrowDown') {
      event.preventDefault();
      (list[index + 1] || list[index]).focus();
    } else if (event.key === 'ArrowUp') {
      event.preventDefault();
      if (index === 0) {
        var box = document.getElementById('q');
        if (box) box.focus();
      } else {
        list[index - 1].focus();
      }
    }
  });

  document.addEventListener('submit', function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || form.method.toLowerCase() !== 'post') return;
    if (form.hasAttribute('hx-post')) return;
    var button = form.querySelector('button[type="submit"]');
    if (button) {
      window.setTimeout(function () { button.disabled = true; }, 0);
    }
  });
})();
