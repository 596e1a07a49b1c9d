/* Autosave for answer and rating forms (form[data-autosave]).
 *
 * Every change is posted in the background a moment after typing stops. Until the server
 * confirms, the form's values are also kept in localStorage, so a closed tab, a lost network or
 * an expired session never loses a draft: the page restores them next time and saves again.
 * When the session has ended (401, 403 or sent to the sign-in page), the typed text stays in
 * the form and the status asks the user to sign in again in another tab; the save is retried
 * and goes through once they have (with the new CSRF token of that sign-in).
 * Without JavaScript the forms still work with their own Save button.
 */
(function () {
  "use strict";
  var DELAY = 700;
  var RETRY = 5000;
  var prefix = "govcloud-eval:draft:";
  var lang = document.documentElement.lang || "zh-CN";
  var zh = lang.indexOf("zh") === 0;
  var text = {
    saving: zh ? "正在保存…" : "Saving…",
    saved: zh ? "已保存 " : "Saved ",
    offline: zh ? "未保存（网络或登录问题），稍后自动重试；草稿已保存在本机" : "Not saved yet (network or session problem); retrying. Your draft is kept on this computer",
    restored: zh ? "已恢复本机保存的草稿，正在保存…" : "Restored your unsaved draft; saving…",
    signedOut: zh ? "登录已失效，尚未保存。请在另一个标签页重新登录，本页填写的内容会保留，登录后自动保存。" : "Your session has ended and this was not saved. Sign in again in another tab: what you typed stays here and is saved once you are signed in."
  };
  var missingCount = document.querySelector("[data-missing-count]");

  function key(form) { return prefix + form.getAttribute("action"); }

  function cookie(name) {
    var match = document.cookie.match(new RegExp("(?:^|; )" + name + "=([^;]*)"));
    return match ? decodeURIComponent(match[1]) : "";
  }

  function SignedOut() {}

  function snapshot(form) {
    var data = {};
    new FormData(form).forEach(function (value, name) {
      if (name !== "csrfmiddlewaretoken") { data[name] = value; }
    });
    return data;
  }

  function restore(form, data) {
    Object.keys(data).forEach(function (name) {
      var fields = form.querySelectorAll('[name="' + name + '"]');
      fields.forEach(function (field) {
        if (field.type === "radio" || field.type === "checkbox") {
          field.checked = field.value === data[name];
        } else {
          field.value = data[name];
        }
      });
    });
  }

  function setStatus(form, message, state) {
    var status = form.querySelector("[data-autosave-status]");
    if (!status) { return; }
    status.textContent = message;
    status.dataset.state = state;
  }

  function showErrors(form, errors) {
    var box = form.querySelector(".autosave-errors");
    if (!box) {
      box = document.createElement("div");
      box.className = "autosave-errors alert alert--error";
      box.setAttribute("role", "alert");
      form.appendChild(box);
    }
    box.textContent = errors.join(" ");
    box.hidden = errors.length === 0;
  }

  function save(form) {
    var body = new FormData(form);
    // Signing in again (in another tab) changes the CSRF token: send the current one.
    var token = cookie("csrftoken");
    if (token) { body.set("csrfmiddlewaretoken", token); }
    try { localStorage.setItem(key(form), JSON.stringify(snapshot(form))); } catch (e) { /* private mode */ }
    setStatus(form, text.saving, "saving");
    fetch(form.getAttribute("action"), {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-Requested-With": "XMLHttpRequest", "Accept": "application/json" }
    }).then(function (response) {
      if (response.status === 401 || response.status === 403 ||
          (response.redirected && response.url.indexOf("/login/") !== -1)) {
        throw new SignedOut();
      }
      var type = response.headers.get("content-type") || "";
      if (type.indexOf("application/json") === -1) { throw new Error("not json"); }
      return response.json().then(function (payload) { return { status: response.status, payload: payload }; });
    }).then(function (result) {
      if (result.payload.ok) {
        try { localStorage.removeItem(key(form)); } catch (e) { /* ignore */ }
        showErrors(form, []);
        setStatus(form, text.saved + result.payload.saved_at, "saved");
        if (missingCount && typeof result.payload.missing === "number") {
          missingCount.textContent = result.payload.missing;
        }
        form.dispatchEvent(new CustomEvent("autosave:saved", { bubbles: true, detail: result.payload }));
      } else {
        // The server refused the values: keep the draft locally, say why, do not retry blindly.
        showErrors(form, result.payload.errors || []);
        setStatus(form, "", "error");
      }
    }).catch(function (error) {
      // Nothing is cleared: the text stays in the form and in localStorage.
      if (error instanceof SignedOut) {
        setStatus(form, text.signedOut, "signed-out");
      } else {
        setStatus(form, text.offline, "offline");
      }
      clearTimeout(form._autosaveRetry);
      form._autosaveRetry = setTimeout(function () { save(form); }, RETRY);
    });
  }

  document.querySelectorAll("form[data-autosave]").forEach(function (form) {
    var timer = null;
    function schedule() {
      clearTimeout(timer);
      try { localStorage.setItem(key(form), JSON.stringify(snapshot(form))); } catch (e) { /* ignore */ }
      timer = setTimeout(function () { save(form); }, DELAY);
    }
    form.addEventListener("input", schedule);
    form.addEventListener("change", schedule);
    form.addEventListener("submit", function (event) { event.preventDefault(); save(form); });
    var stored = null;
    try { stored = localStorage.getItem(key(form)); } catch (e) { /* ignore */ }
    if (stored) {
      restore(form, JSON.parse(stored));
      setStatus(form, text.restored, "saving");
      save(form);
    }
  });

  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.dataset.confirm)) { event.preventDefault(); }
    });
  });
})();
