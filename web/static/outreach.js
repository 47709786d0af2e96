// Outreach: live length counters that count as the channel does, copy buttons that warn before
// copying a text too long for its channel, live checks while typing, and the template preview.
document.addEventListener("DOMContentLoaded", () => {
  // UTF-16 code units, as browsers' maxlength and LinkedIn count: an emoji is two; a line break one.
  const measure = (text, utf16) => {
    const normalised = text.replace(/\r\n/g, "\n");
    return utf16 ? normalised.length : Array.from(normalised).length;
  };

  const overBy = new Map(); // field id -> characters over the limit
  document.querySelectorAll(".counter[data-for]").forEach((counter) => {
    const field = document.getElementById(counter.dataset.for);
    if (!field) return;
    const max = Number(counter.dataset.max) || null;
    const warn = Number(counter.dataset.warn) || null;
    const utf16 = counter.dataset.utf16 === "true";
    const output = counter.querySelector("output") || counter.appendChild(document.createElement("output"));
    const update = () => {
      const size = measure(field.value, utf16);
      const limit = max || warn;
      let text = `${size.toLocaleString()} / ${limit.toLocaleString()} characters`;
      counter.classList.remove("over", "long");
      overBy.set(field.id, 0);
      if (max && size > max) {
        text += `: ${(size - max).toLocaleString()} over the limit, it does not fit`;
        counter.classList.add("over");
        field.setAttribute("aria-invalid", "true");
        overBy.set(field.id, size - max);
      } else {
        if (field.getAttribute("aria-invalid") === "true" && !field.closest(".has-error")) field.removeAttribute("aria-invalid");
        if (warn && size > warn) {
          text += `: past ${warn.toLocaleString()}, long for this channel`;
          counter.classList.add("long");
        } else if (max) {
          text += ` (${(max - size).toLocaleString()} left)`;
        }
      }
      output.textContent = text;
      document.querySelectorAll(`[data-copy="${field.id}"]`).forEach(labelCopy);
    };
    field.addEventListener("input", update);
    update();
  });

  // A copy button says before copying when the text does not fit; a second click copies anyway.
  function labelCopy(button) {
    const over = overBy.get(button.dataset.copy) || 0;
    if (!button.dataset.label) button.dataset.label = button.textContent;
    button.dataset.confirmed = "";
    button.textContent = over ? `Too long by ${over}: copy anyway?` : button.dataset.label;
    button.classList.toggle("warning", over > 0);
  }
  document.querySelectorAll("[data-copy]").forEach((button) => {
    labelCopy(button);
    button.addEventListener("click", async () => {
      const field = document.getElementById(button.dataset.copy);
      const over = overBy.get(button.dataset.copy) || 0;
      if (over && button.dataset.confirmed !== "yes") {
        button.dataset.confirmed = "yes";
        button.textContent = `It is ${over} characters too long. Click again to copy anyway`;
        return;
      }
      try {
        await navigator.clipboard.writeText(field.value);
      } catch (error) {
        field.select();
        document.execCommand("copy");
      }
      button.textContent = over ? "Copied (too long: shorten it before sending)" : "Copied";
      button.dataset.confirmed = "";
    });
  });

  // Live checks while the client writes.
  const compose = document.querySelector("form.compose[data-check-url]");
  if (compose) {
    const list = document.getElementById("warnings");
    let timer = null;
    const render = (warnings) => {
      list.replaceChildren();
      if (!warnings.length) {
        const ok = document.createElement("p");
        ok.className = "checks-ok";
        ok.textContent = "No warnings: short, specific, and easy to say yes to.";
        list.append(ok);
        return;
      }
      const ul = document.createElement("ul");
      ul.className = "warnings";
      for (const w of warnings) {
        const li = document.createElement("li");
        li.dataset.code = w.code;
        li.dataset.field = w.field;
        const strong = document.createElement("strong");
        strong.textContent = w.message;
        li.append(strong);
        if (w.why) {
          const why = document.createElement("span");
          why.className = "why";
          why.textContent = ` ${w.why}`;
          li.append(why);
        }
        ul.append(li);
      }
      list.append(ul);
    };
    const check = async () => {
      try {
        const response = await fetch(compose.dataset.checkUrl, {
          method: "POST",
          headers: { "X-CSRFToken": compose.dataset.csrf },
          body: new FormData(compose),
          credentials: "same-origin",
        });
        if (response.ok) render((await response.json()).warnings);
      } catch (error) {
        /* offline: the checks run again on the next keystroke */
      }
    };
    compose.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(check, 400);
    });
  }

  // The template editor's live preview, and "start again from the default".
  const editor = document.querySelector("form.template-editor");
  if (editor) {
    const preview = document.getElementById("preview");
    let timer = null;
    const show = async () => {
      const response = await fetch(editor.dataset.previewUrl, {
        method: "POST",
        headers: { "X-CSRFToken": editor.dataset.csrf },
        body: new FormData(editor),
        credentials: "same-origin",
      });
      const data = await response.json();
      preview.replaceChildren();
      if (data.errors) {
        const p = document.createElement("p");
        p.className = "field-error";
        p.textContent = Object.values(data.errors).flat().join(" ");
        preview.append(p);
        return;
      }
      if (data.subject) {
        const h = document.createElement("h3");
        h.textContent = data.subject;
        preview.append(h);
      }
      const body = document.createElement("div");
      body.className = "message-body";
      body.textContent = data.body;
      preview.append(body);
    };
    editor.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(show, 300);
    });
    editor.querySelector("[data-fill-default]").addEventListener("click", () => {
      const subject = editor.querySelector("[name=subject]");
      if (subject) subject.value = document.getElementById("default-subject").content.textContent.trim();
      editor.querySelector("[name=body]").value = document.getElementById("default-body").content.textContent.trim();
      show();
    });
    show();
  }
});
