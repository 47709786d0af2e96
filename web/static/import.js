// Shows upload progress for a large Connections.csv, then the server's answer.
// Without JavaScript the form posts normally and the result page is the same.
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("import-form");
  if (!form || !window.XMLHttpRequest) return;
  const bar = document.getElementById("import-progress");
  const status = document.getElementById("import-status");
  form.addEventListener("submit", (event) => {
    if (!form.file.files.length) return;
    event.preventDefault();
    const request = new XMLHttpRequest();
    request.open("POST", form.action);
    bar.hidden = false;
    form.querySelector("button").disabled = true;
    request.upload.addEventListener("progress", (e) => {
      if (e.lengthComputable) {
        bar.value = Math.round((e.loaded / e.total) * 100);
        status.textContent = `Uploading… ${bar.value}%`;
      }
    });
    request.upload.addEventListener("load", () => {
      bar.removeAttribute("value");  // indeterminate while the server imports
      status.textContent = "Importing… this takes a few seconds for a large network.";
    });
    request.addEventListener("load", () => {
      document.open();
      document.write(request.responseText);
      document.close();
    });
    request.addEventListener("error", () => {
      status.textContent = "The upload failed: check your connection and try again. Nothing was imported.";
      form.querySelector("button").disabled = false;
    });
    request.send(new FormData(form));
  });
});
