// Behaviour every page shares, kept out of the markup: the Content-Security-Policy allows no inline
// scripts or handlers. Each piece is wired by a data- attribute, and the page works without it.
document.addEventListener("DOMContentLoaded", () => {
  // After a failed submit: focus the error summary (or the first field in error), which may be far
  // down the page, so keyboard and screen-reader users land on what went wrong.
  const active = document.activeElement;
  if (!active || active === document.body) {
    const problem = document.querySelector("[data-error-summary], [aria-invalid='true']");
    if (problem) {
      problem.focus();
      problem.scrollIntoView({ block: "center" });
    }
  }

  // An error summary's links move focus to their field, not only the scroll position.
  document.querySelectorAll("[data-error-summary] a[href^='#']").forEach((link) => {
    link.addEventListener("click", (event) => {
      const target = document.getElementById(link.getAttribute("href").slice(1));
      if (!target) return;
      event.preventDefault();
      target.focus();
      target.scrollIntoView({ block: "center" });
    });
  });

  // data-print: a button that prints the page.
  document.querySelectorAll("[data-print]").forEach((button) => {
    button.addEventListener("click", () => window.print());
  });

  // data-select-on-focus: a read-only field whose whole text is selected for copying.
  document.querySelectorAll("[data-select-on-focus]").forEach((input) => {
    input.addEventListener("focus", () => input.select());
  });

  // data-copy-field: a button that copies the text of the field it names (a calendar address).
  document.querySelectorAll("[data-copy-field]").forEach((button) => {
    const label = button.textContent;
    button.addEventListener("click", async () => {
      const field = document.getElementById(button.dataset.copyField);
      if (!field) return;
      try {
        await navigator.clipboard.writeText(field.value);
      } catch (error) {
        field.select();
        document.execCommand("copy");
      }
      button.textContent = "Copied";
      setTimeout(() => { button.textContent = label; }, 3000);
    });
  });

  // data-confirm: a form that asks before doing something that cannot be undone.
  document.querySelectorAll("form[data-confirm]").forEach((form) => {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });
});
