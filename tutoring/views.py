"""The tutor's pages (htmx, inside the LMS iframe) and the answer's Server-Sent Events.

Students: the chat page (AI-use notice, then the ``chat_thread`` component; the stored thread,
with citations and rating buttons, is reloaded after each answer) and the cited passages.
Instructors: the course page (settings, materials with live status, conversations) and one
conversation, pseudonymised, where answers are endorsed or corrected.
"""

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from lti_tool.models import LtiLaunch

from analytics.models import LearningEvent
from analytics.services import event_record
from eduai.courses.access import course_learner_is, course_member_is, course_staff_is
from eduai.courses.models import Course
from eduai.documents import DocumentError
from eduai.lti.selectors import LaunchRecord, launch_record_get
from eduai.ml.views import stream_response
from eduai.web.htmx import htmx_request_is
from eduai.web.templatetags.ui import ChatMessage
from eduai.web.toasts import toast_trigger

from . import selectors, services
from .forms import EndorseForm, FaqEntryForm, MaterialEditForm, MaterialForm, TutorSettingsForm
from .models import Chunk, Conversation, FaqEntry, Material, Message, TutorSettings


def _user(request: HttpRequest) -> User:
    if not request.user.is_authenticated:
        raise Http404
    return request.user


def _record(request: HttpRequest, course: Course) -> LaunchRecord | None:
    """The session's LTI launch, when it is this course's (for the header and the link)."""
    lti_launch = getattr(request, "lti_launch", None)
    if not isinstance(lti_launch, LtiLaunch) or not request.user.is_authenticated:
        return None
    record = launch_record_get(lti_launch=lti_launch, user=_user(request))
    return record if record.course is not None and record.course.pk == course.pk else None


def _course_for(request: HttpRequest, course_id: int, *, staff: bool) -> Course:
    course = get_object_or_404(Course, pk=course_id)
    user = _user(request)
    allowed = (
        course_staff_is(user=user, course_id=course.pk)
        if staff
        else course_learner_is(user=user, course_id=course.pk)
    )
    if not allowed:
        raise Http404
    return course


def _link_id(request: HttpRequest, course: Course) -> int | None:
    """The resource link the page is for: ``?link=``, else the session's launch."""
    given = request.GET.get("link") or request.POST.get("link")
    if given and given.isdigit():
        link = selectors.resource_link_of_course(course=course, resource_link_id=int(given))
        return link.pk if link else None
    record = _record(request, course)
    return record.resource_link.pk if record and record.resource_link else None


def _with_link(url: str, link_id: int | None) -> str:
    """``url`` for the page of resource link ``link_id`` (none: the course's own settings)."""
    return f"{url}?link={link_id}" if link_id else url


# --- Server-Sent Events of an answer ----------------------------------------------------------
@require_GET
def answer_events(request: HttpRequest, stream_id: UUID) -> HttpResponseBase:
    """The answer's stream (start, token..., end or error), for the student who asked only."""
    if not request.user.is_authenticated:
        return JsonResponse({"detail": "Authentication credentials were not provided."}, status=401)
    if not Message.objects.filter(stream_id=stream_id, conversation__student=request.user).exists():
        return JsonResponse({"detail": "Not found."}, status=404)
    return stream_response(request, stream_id)


# --- Student pages ---------------------------------------------------------------------------
def _thread(conversation: Conversation | None) -> list[Message]:
    if conversation is None:
        return []
    return list(selectors.conversation_messages(conversation=conversation))


@xframe_options_exempt
@require_GET
def chat(request: HttpRequest, course_id: int) -> HttpResponse:
    course = _course_for(request, course_id, staff=False)
    user = _user(request)
    link_id = _link_id(request, course)
    settings = selectors.tutor_settings_get(course_id=course.pk, resource_link_id=link_id)
    conversation = (
        selectors.student_conversations(user=user, course_id=course.pk)
        .filter(resource_link_id=link_id)
        .order_by("-updated_at")
        .first()
    )
    thread = _thread(conversation)
    start_url = _with_link(reverse("tutoring-api:question-ask", args=[course.pk]), link_id)
    context = {
        "course": course,
        "record": _record(request, course),
        "settings": settings,
        "accepted": selectors.notice_accepted(user=user),
        "start_url": start_url,
        "link_id": link_id,
        "chat_messages": [
            ChatMessage(author=message.role, text=message.text)
            for message in thread
            if message.text and message.status != Message.Status.REFUSED
        ],
        "thread_url": _with_link(reverse("tutoring:thread", args=[course.pk]), link_id),
    }
    return render(request, "tutoring/chat.html", context)


@xframe_options_exempt
@require_GET
def thread(request: HttpRequest, course_id: int) -> HttpResponse:
    """The stored conversation as chat items, with citations and rating buttons (htmx)."""
    course = _course_for(request, course_id, staff=False)
    link_id = _link_id(request, course)
    conversation = (
        selectors.student_conversations(user=_user(request), course_id=course.pk)
        .filter(resource_link_id=link_id)
        .order_by("-updated_at")
        .first()
    )
    return render(request, "tutoring/_thread.html", {"thread": _thread(conversation), "course": course})


@xframe_options_exempt
@require_POST
def notice_accept(request: HttpRequest, course_id: int) -> HttpResponse:
    course = _course_for(request, course_id, staff=False)
    services.notice_accept(user=_user(request), course=course)
    link_id = _link_id(request, course)
    return redirect(_with_link(reverse("tutoring:chat", args=[course.pk]), link_id))


def _student_answer(request: HttpRequest, message_id: int) -> Message:
    message = get_object_or_404(
        Message.objects.select_related("conversation__course"), pk=message_id, role=Message.Role.TUTOR
    )
    if message.conversation.student_id != _user(request).pk:
        raise Http404
    return message


@xframe_options_exempt
@require_POST
def answer_rate(request: HttpRequest, message_id: int) -> HttpResponse:
    message = _student_answer(request, message_id)
    try:
        rating = float(request.POST.get("rating", ""))
        services.message_rate(message=message, user=_user(request), rating=rating)
    except (ValueError, ValidationError):
        if not htmx_request_is(request):
            # A plain form post: back to the answer, with the error as a message.
            messages.error(request, _("A rating is between 0 and 1."))
            return _chat_redirect(message)
        return HttpResponse(_("A rating is between 0 and 1."), status=400)
    return _answer_changed(request, message, level="success", text=_("Thank you for rating this answer."))


@xframe_options_exempt
@require_POST
def answer_flag(request: HttpRequest, message_id: int) -> HttpResponse:
    message = _student_answer(request, message_id)
    services.message_flag(message=message, user=_user(request), reason=request.POST.get("reason", ""))
    return _answer_changed(
        request, message, level="info", text=_("Flagged: your instructor will look at this answer.")
    )


def _chat_redirect(message: Message) -> HttpResponse:
    """Back to the chat page of ``message``'s conversation, at the message."""
    chat_url = reverse("tutoring:chat", args=[message.conversation.course_id])
    return redirect(_with_link(chat_url, message.conversation.resource_link_id) + f"#message-{message.pk}")


def _answer_changed(request: HttpRequest, message: Message, *, level: str, text: str) -> HttpResponse:
    """htmx gets the answer again (with a toast); a plain form post (before htmx has wired the
    form, or without JavaScript) goes back to the chat page, with the notice as a message."""
    if not htmx_request_is(request):
        getattr(messages, level)(request, text)
        return _chat_redirect(message)
    response = render(
        request, "tutoring/_message.html", {"message": message, "course": message.conversation.course}
    )
    return toast_trigger(response, level=level, text=text)


@xframe_options_exempt
@require_GET
def passage(request: HttpRequest, chunk_id: int) -> HttpResponse:
    """A cited passage, for the course's students and instructors."""
    chunk = get_object_or_404(Chunk.objects.select_related("material", "course"), pk=chunk_id)
    user = _user(request)
    if not course_member_is(user=user, course_id=chunk.course_id):
        raise Http404
    if course_learner_is(user=user, course_id=chunk.course_id):
        event_record(
            user=user,
            course=chunk.course,
            verb=LearningEvent.Verb.VIEWED,
            object_type="material",
            object_id=str(chunk.material_id),
            timestamp=timezone.now(),
        )
    return render(
        request,
        "tutoring/passage.html",
        {"chunk": chunk, "course": chunk.course, "record": _record(request, chunk.course)},
    )


# --- Instructor pages ------------------------------------------------------------------------
def _settings_form(course: Course, link_id: int | None, data: Any = None) -> TutorSettingsForm:
    row = TutorSettings.objects.filter(course=course, resource_link_id=link_id).first()
    if row is None:
        effective = selectors.tutor_settings_get(course_id=course.pk, resource_link_id=link_id)
        row = TutorSettings(course=course, resource_link_id=link_id, **effective.__dict__)
    return TutorSettingsForm(data, instance=row)


def _materials_context(course: Course) -> dict[str, Any]:
    materials = list(selectors.material_list(course_id=course.pk))
    busy = {Material.Status.PENDING, Material.Status.PROCESSING}
    return {"course": course, "materials": materials, "polling": any(m.status in busy for m in materials)}


def _manage_context(request: HttpRequest, course: Course, **extra: Any) -> dict[str, Any]:
    link_id = _link_id(request, course)
    conversations = [
        {
            "conversation": conversation,
            "student": selectors.student_label(course_id=course.pk, user_id=conversation.student_id),
        }
        for conversation in selectors.course_conversations(course_id=course.pk)[:50]
    ]
    context = {
        "course": course,
        "record": _record(request, course),
        "link_id": link_id,
        "settings_form": _settings_form(course, link_id),
        "material_form": MaterialForm(),
        **_materials_context(course),
        "conversations": conversations,
    }
    return {**context, **extra}


@xframe_options_exempt
@require_GET
def manage(request: HttpRequest, course_id: int) -> HttpResponse:
    course = _course_for(request, course_id, staff=True)
    return render(request, "tutoring/manage.html", _manage_context(request, course))


def _manage_plain_post(
    request: HttpRequest, course: Course, *, saved: str = "", **forms: Any
) -> HttpResponse:
    """The answer to a plain form post on the manage page (no htmx: before htmx has wired the
    form, or without JavaScript): back to the page with ``saved`` as a message, or the whole page
    with the invalid form (400)."""
    if saved:
        messages.success(request, saved)
        link_id = _link_id(request, course)
        return redirect(_with_link(reverse("tutoring:manage", args=[course.pk]), link_id))
    return render(request, "tutoring/manage.html", _manage_context(request, course, **forms), status=400)


@xframe_options_exempt
@require_POST
def settings_save(request: HttpRequest, course_id: int) -> HttpResponse:
    course = _course_for(request, course_id, staff=True)
    link_id = _link_id(request, course)
    form = _settings_form(course, link_id, request.POST)
    if not form.is_valid():
        if not htmx_request_is(request):
            return _manage_plain_post(request, course, settings_form=form)
        return render(
            request,
            "tutoring/_settings.html",
            {"course": course, "settings_form": form, "link_id": link_id},
            status=400,
        )
    link = selectors.resource_link_of_course(course=course, resource_link_id=link_id)
    services.tutor_settings_update(
        course=course,
        resource_link=link,
        actor=_user(request),
        **{name: form.cleaned_data[name] for name in services.SETTINGS_FIELDS},
    )
    if not htmx_request_is(request):
        return _manage_plain_post(request, course, saved=_("Tutor settings saved."))
    response = render(
        request,
        "tutoring/_settings.html",
        {"course": course, "settings_form": _settings_form(course, link_id), "link_id": link_id},
    )
    return toast_trigger(response, level="success", text=_("Tutor settings saved."))


@xframe_options_exempt
@require_GET
def materials(request: HttpRequest, course_id: int) -> HttpResponse:
    """The materials table (polled while any is being processed)."""
    course = _course_for(request, course_id, staff=True)
    return render(
        request,
        "tutoring/_materials.html",
        _materials_context(course),
    )


@xframe_options_exempt
@require_POST
def material_upload(request: HttpRequest, course_id: int) -> HttpResponse:
    course = _course_for(request, course_id, staff=True)
    form = MaterialForm(request.POST, request.FILES)
    status = 200
    if form.is_valid():
        try:
            material = services.material_create(
                course=course,
                user=_user(request),
                title=form.cleaned_data["title"],
                text=form.cleaned_data["text"],
                upload=form.cleaned_data["file"],
            )
        except DocumentError as error:
            form.add_error("file" if form.cleaned_data["file"] else "text", str(error))
            status = 400
        else:
            if not htmx_request_is(request):
                saved = _("Added: %(title)s. It is being processed.") % {"title": material.title}
                return _manage_plain_post(request, course, saved=saved)
            response = render(
                request,
                "tutoring/_upload.html",
                {"course": course, "material_form": MaterialForm(), "accepted": material.title},
            )
            response["HX-Trigger-After-Settle"] = "eduai:materials-changed"
            return response
    else:
        status = 400
    if not htmx_request_is(request):
        return _manage_plain_post(request, course, material_form=form)
    return render(request, "tutoring/_upload.html", {"course": course, "material_form": form}, status=status)


@xframe_options_exempt
@require_http_methods(["POST", "DELETE"])
def material_delete(request: HttpRequest, material_id: int) -> HttpResponse:
    material = get_object_or_404(Material, pk=material_id)
    course = _course_for(request, material.course_id, staff=True)
    title = material.title
    services.material_delete(material=material)
    if not htmx_request_is(request):
        messages.success(request, _("Material deleted: %(title)s.") % {"title": title})
        return redirect("tutoring:manage", course.pk)
    response = render(
        request,
        "tutoring/_materials.html",
        _materials_context(course),
    )
    return toast_trigger(response, level="success", text=_("Material deleted."))


@xframe_options_exempt
@require_http_methods(["GET", "POST"])
def material_edit(request: HttpRequest, material_id: int) -> HttpResponse:
    """A pasted material's title and text, or an uploaded one's title and file (ingested again
    when the content changed)."""
    material = get_object_or_404(Material, pk=material_id)
    course = _course_for(request, material.course_id, staff=True)
    uploaded = bool(material.file)
    status = 200
    if request.method == "POST":
        form = MaterialEditForm(request.POST, request.FILES, uploaded=uploaded)
        if form.is_valid():
            try:
                services.material_update(
                    material=material,
                    title=form.cleaned_data["title"],
                    text=form.cleaned_data.get("text") or "",
                    upload=form.cleaned_data.get("file"),
                )
            except (DocumentError, ValidationError) as error:
                field = "file" if uploaded else "text"
                message = error.messages if isinstance(error, ValidationError) else str(error)
                form.add_error(field, message)
            else:
                messages.success(request, _("Material saved: %(title)s.") % {"title": material.title})
                return redirect("tutoring:manage", course.pk)
        status = 400
        material.refresh_from_db()
    else:
        form = MaterialEditForm(initial={"title": material.title, "text": material.text}, uploaded=uploaded)
    context = {
        "course": course,
        "record": _record(request, course),
        "material": material,
        "uploaded": uploaded,
        "form": form,
    }
    return render(request, "tutoring/material_edit.html", context, status=status)


def _faq_page(
    request: HttpRequest, course: Course, *, invalid: tuple[int, FaqEntryForm] | None = None
) -> HttpResponse:
    entries = [
        {
            "faq": faq,
            "form": invalid[1]
            if invalid and invalid[0] == faq.pk
            else FaqEntryForm(
                initial={"question": faq.question, "answer": faq.answer}, prefix=f"faq-{faq.pk}"
            ),
        }
        for faq in selectors.faq_list(course_id=course.pk)
    ]
    context = {"course": course, "record": _record(request, course), "entries": entries}
    return render(request, "tutoring/faq.html", context, status=400 if invalid else 200)


@xframe_options_exempt
@require_GET
def faq(request: HttpRequest, course_id: int) -> HttpResponse:
    """The course's FAQ: endorsed and corrected answers, to edit or delete."""
    course = _course_for(request, course_id, staff=True)
    return _faq_page(request, course)


@xframe_options_exempt
@require_POST
def faq_edit(request: HttpRequest, faq_id: int) -> HttpResponse:
    entry = get_object_or_404(FaqEntry.objects.select_related("source_message"), pk=faq_id)
    course = _course_for(request, entry.course_id, staff=True)
    form = FaqEntryForm(request.POST, prefix=f"faq-{entry.pk}")
    if form.is_valid():
        try:
            services.faq_update(
                faq=entry,
                question=form.cleaned_data["question"],
                answer=form.cleaned_data["answer"],
                user=_user(request),
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("FAQ entry saved: students asking this question get the new answer."))
            return redirect(reverse("tutoring:faq", args=[course.pk]) + f"#faq-{entry.pk}")
    return _faq_page(request, course, invalid=(entry.pk, form))


@xframe_options_exempt
@require_POST
def faq_remove(request: HttpRequest, faq_id: int) -> HttpResponse:
    entry = get_object_or_404(FaqEntry, pk=faq_id)
    course = _course_for(request, entry.course_id, staff=True)
    services.faq_delete(faq=entry, user=_user(request))
    messages.success(request, _("FAQ entry deleted."))
    if htmx_request_is(request):
        # Confirmed through htmx (hx-confirm): the page is loaded again, with the message.
        response = HttpResponse(status=204)
        response["HX-Redirect"] = reverse("tutoring:faq", args=[course.pk])
        return response
    return redirect("tutoring:faq", course.pk)


@xframe_options_exempt
@require_GET
def conversation(request: HttpRequest, conversation_id: int) -> HttpResponse:
    """One conversation, as its instructor sees it: "Student 7", redacted questions."""
    item = get_object_or_404(Conversation, pk=conversation_id)
    course = _course_for(request, item.course_id, staff=True)
    context = {
        "course": course,
        "record": _record(request, course),
        "conversation": item,
        "student": selectors.student_label(course_id=course.pk, user_id=item.student_id),
        "thread": _thread(item),
    }
    return render(request, "tutoring/conversation.html", context)


@xframe_options_exempt
@require_POST
def answer_endorse(request: HttpRequest, message_id: int) -> HttpResponse:
    message = get_object_or_404(
        Message.objects.select_related("conversation", "reply_to"), pk=message_id, role=Message.Role.TUTOR
    )
    course = _course_for(request, message.conversation.course_id, staff=True)
    form = EndorseForm(request.POST)
    if form.is_valid():
        try:
            services.faq_endorse(message=message, user=_user(request), answer=form.cleaned_data["answer"])
        except ValidationError as error:
            form.add_error("answer", error)
    if form.is_valid():
        if not htmx_request_is(request):
            # A plain form post: back to the conversation, with the notice.
            messages.success(request, _("Endorsed: students asking this question get this answer."))
            return redirect("tutoring:conversation", message.conversation_id)
        response = render(
            request, "tutoring/_endorse.html", {"message": message, "course": course, "endorsed": True}
        )
        return toast_trigger(
            response, level="success", text=_("Endorsed: students asking this question get this answer.")
        )
    return render(
        request, "tutoring/_endorse.html", {"message": message, "course": course, "form": form}, status=400
    )
