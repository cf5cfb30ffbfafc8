// Render the maths that pymdownx.arithmatex (generic mode) leaves in the page as
// \( ... \) and \[ ... \], with the KaTeX copy bundled in docs/assets/katex (works offline).
function renderArithmatex(root) {
  root.querySelectorAll(".arithmatex").forEach(function (el) {
    renderMathInElement(el, {
      delimiters: [
        { left: "\\(", right: "\\)", display: false },
        { left: "\\[", right: "\\]", display: true },
      ],
      throwOnError: false,
    });
  });
}
if (typeof document$ !== "undefined") {
  document$.subscribe(function (page) { renderArithmatex(page.body); });
} else {
  document.addEventListener("DOMContentLoaded", function () { renderArithmatex(document.body); });
}
