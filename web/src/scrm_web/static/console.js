// The console's only script besides htmx: which responses htmx swaps in, a message when a request
// fails in a way the page cannot show (a lost connection, a server error), and the small behaviours
// pages ask for with data attributes. The Content-Security-Policy allows no inline script (no
// onclick=, no hx-on): a page needing behaviour adds it here.
document.addEventListener("DOMContentLoaded", () => {
  htmx.config.responseHandling = [
    { code: "204", swap: false },
    { code: "[23]..", swap: true },
    { code: "422", swap: true },  // a form with its field errors
    { code: "[45]..", swap: false, error: true },
  ];
});

document.addEventListener("htmx:responseError", (event) => {
  const flash = document.getElementById("flash");
  if (!flash) return;
  const doc = new DOMParser().parseFromString(event.detail.xhr.responseText, "text/html");
  const problem = doc.querySelector(".problem");
  flash.replaceChildren();
  const p = document.createElement("p");
  p.className = "flash error";
  p.setAttribute("role", "alert");
  p.textContent = problem ? problem.textContent.trim().replace(/\s+/g, " ") : `Error ${event.detail.xhr.status}`;
  flash.appendChild(p);
});

document.addEventListener("htmx:sendError", () => {
  const flash = document.getElementById("flash");
  if (flash) flash.innerHTML = '<p class="flash error" role="alert">The server cannot be reached. Check the connection and retry.</p>';
});

// <select data-autosubmit>: submit its form when the choice changes
document.addEventListener("change", (event) => {
  if (event.target.matches("[data-autosubmit]")) event.target.form.requestSubmit();
});

// <button data-copy="ID">: copy the text of the element with that id
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy]");
  if (button) navigator.clipboard.writeText(document.getElementById(button.dataset.copy).textContent);
});

// <form data-reset-on-error>: put the form back as it was when its request fails
document.addEventListener("htmx:responseError", (event) => {
  const form = event.detail.elt.closest("form[data-reset-on-error]");
  if (form) form.reset();
});

// <form data-progress="ID">: show the upload's progress in the <progress id="ID"> (a file import)
document.addEventListener("htmx:xhr:progress", (event) => {
  const form = event.detail.elt && event.detail.elt.closest && event.detail.elt.closest("form[data-progress]");
  const bar = form && document.getElementById(form.dataset.progress);
  if (!bar || !event.detail.lengthComputable) return;
  bar.hidden = false;
  bar.value = Math.round((100 * event.detail.loaded) / event.detail.total);
});
document.addEventListener("htmx:beforeRequest", (event) => {
  const form = event.detail.elt && event.detail.elt.closest && event.detail.elt.closest("form[data-progress]");
  const bar = form && document.getElementById(form.dataset.progress);
  if (bar) { bar.hidden = false; bar.value = 0; }
});
