/* Evidence uploads: drag and drop or file picker, one XMLHttpRequest per file with a real
 * progress bar (upload.onprogress), the new row added without a reload; delete and copy the
 * SHA-256. Works for every [data-evidence] section on the page through event delegation, and
 * binds once however many times the script is included. */
(function () {
  "use strict";
  if (window.govcloudEvidenceUpload) return;
  window.govcloudEvidenceUpload = true;

  function cookie(name) {
    var match = document.cookie.match(new RegExp("(?:^|; )" + name + "=([^;]*)"));
    return match ? decodeURIComponent(match[1]) : "";
  }

  function csrfToken(root) {
    return cookie("csrftoken") || root.dataset.csrf || "";
  }

  function format(template, values) {
    return (template || "").replace(/\{(\w+)\}/g, function (all, key) {
      return key in values ? values[key] : all;
    });
  }

  function bytes(n) {
    var units = ["B", "KB", "MB", "GB", "TB"];
    var i = 0;
    while (n >= 1024 && i < units.length - 1) {
      n /= 1024;
      i += 1;
    }
    return (i === 0 ? n : n.toFixed(1)) + " " + units[i];
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function queueItem(root, file) {
    var item = el("li", "upload-item");
    var head = el("div", "upload-item__head");
    var name = el("span", "upload-item__name", file.name);
    var status = el("span", "upload-item__status", root.dataset.msgUploading + " 0%");
    var bar = el("progress");
    bar.max = 100;
    bar.value = 0;
    bar.setAttribute("aria-label", file.name);
    head.appendChild(name);
    head.appendChild(status);
    item.appendChild(head);
    item.appendChild(bar);
    root.querySelector("[data-evidence-queue]").appendChild(item);
    return { item: item, status: status, bar: bar };
  }

  function fail(view, root, errors) {
    view.item.classList.add("upload-item--error");
    view.status.textContent = root.dataset.msgFailed;
    view.bar.hidden = true;
    var list = el("ul", "upload-item__errors");
    list.setAttribute("role", "alert");
    errors.forEach(function (message) {
      list.appendChild(el("li", "", message));
    });
    view.item.appendChild(list);
  }

  function addRow(root, data) {
    var rows = root.querySelector("[data-evidence-rows]");
    var template = document.createElement("template");
    template.innerHTML = data.html.trim();
    var row = template.content.firstElementChild;
    row.classList.add("evidence-file--new");
    if (data.replaces) {
      var old = rows.querySelector('[data-evidence-id="' + data.replaces + '"]');
      if (old) {
        old.classList.add("evidence-file--superseded");
        old.after(row);
      } else {
        rows.appendChild(row);
      }
    } else {
      rows.appendChild(row);
    }
    var none = root.querySelector("[data-evidence-none]");
    if (none) none.remove();
    updateCount(root);
  }

  function updateCount(root) {
    var count = root.querySelector("[data-evidence-count]");
    if (count) count.textContent = root.querySelectorAll("[data-evidence-id]").length;
  }

  function uploadOne(root, file) {
    return new Promise(function (resolve) {
      var view = queueItem(root, file);
      var limit = Number(root.dataset.maxBytes || 0);
      if (file.size === 0) {
        fail(view, root, [format(root.dataset.msgEmpty, { name: file.name })]);
        return resolve();
      }
      if (limit && file.size > limit) {
        fail(view, root, [format(root.dataset.msgTooLarge, { name: file.name, limit: bytes(limit) })]);
        return resolve();
      }
      var form = new FormData();
      form.append("file", file, file.name);
      var issued = root.querySelector("[data-evidence-issued]");
      var valid = root.querySelector("[data-evidence-valid]");
      if (issued && issued.value) form.append("issued_on", issued.value);
      if (valid && valid.value) form.append("valid_until", valid.value);

      var xhr = new XMLHttpRequest();
      xhr.open("POST", root.dataset.uploadUrl);
      xhr.setRequestHeader("X-CSRFToken", csrfToken(root));
      xhr.setRequestHeader("X-Requested-With", "XMLHttpRequest");
      xhr.setRequestHeader("Accept", "application/json");
      xhr.upload.onprogress = function (event) {
        if (!event.lengthComputable) return;
        var percent = Math.min(100, Math.floor((event.loaded / event.total) * 100));
        var sent = Math.min(file.size, event.loaded);
        view.bar.value = percent;
        view.status.textContent =
          root.dataset.msgUploading + " " + percent + "% · " + bytes(sent) + " / " + bytes(file.size);
      };
      xhr.upload.onload = function () {
        view.bar.value = 100;
        view.status.textContent = root.dataset.msgChecking;
      };
      xhr.onload = function () {
        var data = null;
        try {
          data = JSON.parse(xhr.responseText);
        } catch (error) {
          data = null;
        }
        if (xhr.status >= 200 && xhr.status < 300 && data && data.ok) {
          view.bar.value = 100;
          view.item.classList.add("upload-item--done");
          view.status.textContent =
            root.dataset.msgDone + " · " + bytes(data.size) + " · SHA-256 " + data.sha256.slice(0, 12) + "…";
          addRow(root, data);
          window.setTimeout(function () {
            view.item.remove();
          }, 6000);
        } else {
          fail(view, root, data && data.errors ? data.errors : [root.dataset.msgServer]);
        }
        resolve();
      };
      xhr.onerror = function () {
        fail(view, root, [root.dataset.msgNetwork]);
        resolve();
      };
      xhr.send(form);
    });
  }

  // One file after another: each gets its own progress bar and the bandwidth to itself.
  function uploadAll(root, files) {
    var list = Array.prototype.slice.call(files);
    return list.reduce(function (chain, file) {
      return chain.then(function () {
        return uploadOne(root, file);
      });
    }, Promise.resolve());
  }

  function uploadRoot(target) {
    var root = target && target.closest ? target.closest("[data-evidence]") : null;
    return root && root.dataset.uploadUrl ? root : null;
  }

  document.addEventListener("change", function (event) {
    if (!event.target.matches("[data-evidence-input]")) return;
    var root = uploadRoot(event.target);
    if (!root) return;
    var files = Array.prototype.slice.call(event.target.files);
    event.target.value = "";
    uploadAll(root, files);
  });

  ["dragenter", "dragover"].forEach(function (type) {
    document.addEventListener(type, function (event) {
      var zone = event.target.closest && event.target.closest("[data-dropzone]");
      if (!zone || !uploadRoot(zone)) return;
      event.preventDefault();
      event.dataTransfer.dropEffect = "copy";
      zone.classList.add("dropzone--over");
    });
  });
  document.addEventListener("dragleave", function (event) {
    var zone = event.target.closest && event.target.closest("[data-dropzone]");
    if (zone && !zone.contains(event.relatedTarget)) zone.classList.remove("dropzone--over");
  });
  document.addEventListener("drop", function (event) {
    var zone = event.target.closest && event.target.closest("[data-dropzone]");
    var root = zone && uploadRoot(zone);
    if (!root) return;
    event.preventDefault();
    zone.classList.remove("dropzone--over");
    if (event.dataTransfer && event.dataTransfer.files.length) {
      uploadAll(root, event.dataTransfer.files);
    }
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches("[data-evidence-delete]")) return;
    var root = form.closest("[data-evidence]");
    event.preventDefault();
    if (!window.confirm(format(root.dataset.msgConfirmDelete, { name: form.dataset.name }))) return;
    fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      headers: { "X-CSRFToken": csrfToken(root), "X-Requested-With": "XMLHttpRequest", Accept: "application/json" },
      credentials: "same-origin",
    })
      .then(function (response) {
        return response.json().then(function (data) {
          return { ok: response.ok, data: data };
        });
      })
      .then(function (result) {
        var row = form.closest("[data-evidence-id]");
        if (result.ok) {
          var previous = row.dataset.replaces
            ? root.querySelector('[data-evidence-id="' + row.dataset.replaces + '"]')
            : null;
          if (previous) previous.classList.remove("evidence-file--superseded");
          row.remove();
          updateCount(root);
        } else {
          window.alert((result.data.errors || [root.dataset.msgServer]).join("\n"));
        }
      })
      .catch(function () {
        window.alert(root.dataset.msgNetwork);
      });
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-copy]");
    if (!button) return;
    var value = button.dataset.copy;
    var root = button.closest("[data-evidence]");
    var done = function () {
      var label = button.textContent;
      button.textContent = root ? root.dataset.msgCopied : "✓";
      window.setTimeout(function () {
        button.textContent = label;
      }, 1500);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(value).then(done, function () {});
    } else {
      var area = el("textarea");
      area.value = value;
      area.setAttribute("readonly", "");
      area.style.position = "absolute";
      area.style.left = "-9999px";
      document.body.appendChild(area);
      area.select();
      try {
        document.execCommand("copy");
        done();
      } catch (error) {
        /* the full value stays in the title for copying by hand */
      }
      area.remove();
    }
  });
})();
