// The conversation view: a countdown that says clearly when the agreed time is up,
// and notes saved as the client types. A failed save says so and keeps the text on screen,
// and is retried on the next keystroke or when the connection comes back.
document.addEventListener("DOMContentLoaded", () => {
  const root = document.querySelector(".live");
  if (!root) return;
  const csrf = root.dataset.csrf;
  const minutes = Number(root.dataset.minutes);
  const output = document.getElementById("time-left");
  const timeUp = document.getElementById("time-up");
  const status = document.getElementById("save-status");
  let endsAt = null;

  const show = (ms) => {
    const total = Math.max(0, Math.ceil(ms / 1000));
    output.value = `${Math.floor(total / 60)}:${String(total % 60).padStart(2, "0")}`;
  };
  const button = document.getElementById("timer-start");
  const tick = () => {
    const left = endsAt - Date.now();
    show(left);
    if (left <= 0) {
      // At 0:00 the button no longer says the timer is running: it offers to start again.
      timeUp.hidden = false;
      root.classList.add("over-time");
      button.disabled = false;
      button.textContent = "Time is up: restart timer";
      return;
    }
    setTimeout(tick, 250);
  };
  button.addEventListener("click", () => {
    endsAt = Date.now() + minutes * 60 * 1000;
    timeUp.hidden = true;
    root.classList.remove("over-time");
    button.disabled = true;
    button.textContent = "Timer running";
    tick();
  });

  const unsaved = new Set();
  const save = async (area) => {
    const state = document.getElementById(area.id.replace("note-", "state-"));
    try {
      const response = await fetch(area.dataset.saveUrl, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
        body: JSON.stringify({ notes: area.value }),
        credentials: "same-origin",
      });
      if (!response.ok) throw new Error(`status ${response.status}`);
      unsaved.delete(area);
      state.textContent = "Saved";
      status.textContent = unsaved.size ? status.textContent : "";
    } catch (error) {
      unsaved.add(area);
      state.textContent = "Not saved";
      status.textContent = "Saving failed: your notes are still here. They will be saved when the connection is back.";
    }
  };
  const timers = new Map();
  document.querySelectorAll("textarea[data-save-url]:not([readonly])").forEach((area) => {
    area.addEventListener("input", () => {
      clearTimeout(timers.get(area));
      document.getElementById(area.id.replace("note-", "state-")).textContent = "Saving…";
      timers.set(area, setTimeout(() => save(area), 600));
    });
    area.addEventListener("blur", () => save(area));
  });
  window.addEventListener("online", () => unsaved.forEach((area) => save(area)));
  window.addEventListener("beforeunload", (event) => {
    if (unsaved.size) event.preventDefault();
  });
});
