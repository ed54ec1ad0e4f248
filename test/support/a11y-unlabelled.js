// In-page expression for the browser test: form controls without a label or aria-label (outerHTML each).
[...document.querySelectorAll('input, select, textarea')]
  .filter((e) => !e.labels?.length && !e.getAttribute('aria-label'))
  .map((e) => e.outerHTML);
