// eduai's page behaviour: progressive enhancement of server-rendered HTML (no build step).
// Everything here is wired through data attributes, so the pages need no inline script (CSP).
(function () {
  "use strict";

  // --- LTI: cookies blocked inside the LMS iframe -> offer a new window ----------------------
  var newWindow = document.getElementById("lti-new-window");
  if (newWindow) {
    document.cookie = "eduai_cookie_check=1; path=/; SameSite=None; Secure";
    if (document.cookie.indexOf("eduai_cookie_check=1") === -1) newWindow.hidden = false;
  }

  // --- LTI: the deep-linking response goes straight back to the LMS ---------------------------
  document.querySelectorAll("form[data-auto-submit]").forEach(function (form) { form.submit(); });

  // --- LTI Dynamic Registration: tell the LMS window we are done ------------------------------
  document.querySelectorAll("[data-lti-post-message]").forEach(function (element) {
    (window.opener || window.parent).postMessage({ subject: element.dataset.ltiPostMessage }, "*");
  });

  // --- Toasts ----------------------------------------------------------------------------------
  var toasts = document.getElementById("toasts");
  function showToast(level, text) {
    var toast = document.createElement("div");
    toast.className = "toast toast-" + level;
    if (level === "error") toast.setAttribute("role", "alert");
    var paragraph = document.createElement("p");
    paragraph.textContent = text;
    var dismiss = document.createElement("button");
    dismiss.type = "button";
    dismiss.className = "toast-dismiss";
    dismiss.setAttribute("data-dismiss-toast", "");
    dismiss.setAttribute("aria-label", toasts.dataset.dismissLabel || "Dismiss");
    dismiss.textContent = "\u00d7";
    toast.append(paragraph, dismiss);
    toasts.append(toast);
    // Successes leave by themselves after a while; errors stay until dismissed.
    if (level !== "error") setTimeout(function () { toast.remove(); }, 10000);
  }
  document.body.addEventListener("eduai:toast", function (event) {
    showToast(event.detail.level || "info", event.detail.text || "");
  });
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-dismiss-toast]");
    if (button) button.closest(".toast").remove();
  });

  // --- Review table: select all, and how many are selected -----------------------------------
  function updateSelection(tableId) {
    var boxes = document.querySelectorAll('input[data-row-of="' + tableId + '"]');
    var checked = Array.prototype.filter.call(boxes, function (box) { return box.checked; }).length;
    var all = document.querySelector('input[data-select-all="' + tableId + '"]');
    if (all) {
      all.checked = checked > 0 && checked === boxes.length;
      all.indeterminate = checked > 0 && checked < boxes.length;
    }
    var count = document.querySelector("#" + tableId + " .selected-count");
    if (count) count.textContent = count.dataset.template.replace("%(count)s", checked);
  }
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.dataset.selectAll) {
      document.querySelectorAll('input[data-row-of="' + target.dataset.selectAll + '"]').forEach(function (box) {
        box.checked = target.checked;
      });
      updateSelection(target.dataset.selectAll);
    } else if (target.dataset.rowOf) {
      updateSelection(target.dataset.rowOf);
    }
  });

  // --- Submission: upload progress, and focus on the first error after a swap -----------------
  document.body.addEventListener("htmx:beforeRequest", function (event) {
    var selector = event.detail.elt.dataset && event.detail.elt.dataset.progress;
    var progress = selector && document.querySelector(selector);
    if (progress) { progress.value = 0; progress.parentElement.hidden = false; }
  });
  document.body.addEventListener("htmx:xhr:progress", function (event) {
    var selector = event.detail.elt.dataset && event.detail.elt.dataset.progress;
    var progress = selector && document.querySelector(selector);
    if (progress && event.detail.lengthComputable) {
      progress.value = Math.round((event.detail.loaded / event.detail.total) * 100);
      progress.textContent = progress.value + "%";
    }
  });
  document.body.addEventListener("htmx:afterSettle", function (event) {
    // A form answered with errors: take the keyboard to the first one (it is also announced).
    var root = event.detail.elt.isConnected ? event.detail.elt : document;
    var problem = root.querySelector("[aria-invalid=true]") || root.querySelector(".form-errors");
    if (problem) problem.focus();
  });

  // --- Chat: answers streamed over Server-Sent Events ----------------------------------------
  function csrfToken() {
    try { return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"]; } catch (error) { return ""; }
  }

  function chatMessage(chat, author, text) {
    var item = document.createElement("li");
    item.className = "chat-message chat-" + author;
    item.dataset.role = author === "student" ? "user" : "assistant";
    var name = document.createElement("span");
    name.className = "chat-author";
    name.textContent = author === "student" ? chat.dataset.labelStudent : chat.dataset.labelTutor;
    var body = document.createElement("p");
    body.className = "chat-text";
    body.textContent = text;
    item.append(name, body);
    var placeholder = chat.querySelector(".chat-placeholder");
    if (placeholder) placeholder.remove();
    chat.querySelector(".chat-thread").append(item);
    return item;
  }

  function chatHistory(chat) {
    return Array.prototype.map.call(chat.querySelectorAll(".chat-message"), function (item) {
      return { role: item.dataset.role, content: item.querySelector(".chat-text").textContent };
    }).filter(function (message) { return message.content; });
  }

  // POST the conversation; the answer names the event stream of the new generation.
  function chatStart(chat) {
    return fetch(chat.dataset.chatStartUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify({ messages: chatHistory(chat) }),
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (body) {
        if (!response.ok || !body.events_url) throw new Error(body.detail || chat.dataset.textRefused);
        return body.events_url;
      });
    });
  }

  function chatAsk(chat, form, question) {
    var thread = chat.querySelector(".chat-thread");
    var status = chat.querySelector(".chat-status");
    var error = chat.querySelector(".chat-error");
    var button = form.querySelector("button");
    var source = null;
    error.hidden = true;
    chatMessage(chat, "student", question);
    var history = chatStart(chat);
    var answer = chatMessage(chat, "tutor", "");
    var text = answer.querySelector(".chat-text");
    // Busy while streaming: screen readers announce the answer once, when it is complete,
    // rather than every piece as it arrives.
    thread.setAttribute("aria-busy", "true");
    answer.setAttribute("aria-busy", "true");
    button.disabled = true;
    status.textContent = chat.dataset.textAnswering;
    function finish(failure) {
      if (source) source.close();
      thread.setAttribute("aria-busy", "false");
      answer.setAttribute("aria-busy", "false");
      button.disabled = false;
      status.textContent = failure ? "" : chat.dataset.textDone;
      if (failure) {
        chat.querySelector(".chat-error-text").textContent = failure;
        error.hidden = false;
        if (!text.textContent) answer.remove();
      }
      chat.dispatchEvent(new CustomEvent("eduai:chat-finished", { bubbles: true, detail: { failed: !!failure } }));
    }
    history.then(function (eventsUrl) {
      source = new EventSource(eventsUrl);
      source.addEventListener("token", function (event) {
        text.append(document.createTextNode(JSON.parse(event.data).text));
      });
      source.addEventListener("end", function () { finish(null); });
      source.addEventListener("error", function (event) {
        // The server's own "error" event carries a message; a dropped connection carries none.
        var message = null;
        if (event.data) {
          try { message = JSON.parse(event.data).message; } catch (parseError) { message = null; }
        }
        finish(message || chat.dataset.textFailed);
      });
    }, function (failure) { finish(failure.message || chat.dataset.textRefused); });
  }

  document.querySelectorAll("[data-chat-start-url]").forEach(function (chat) {
    var form = chat.querySelector(".chat-form");
    var input = form.querySelector("textarea");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var question = input.value.trim();
      if (!question || form.querySelector("button").disabled) { input.focus(); return; }
      input.value = "";
      chatAsk(chat, form, question);
    });
    input.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) form.requestSubmit();
    });
  });
})();
