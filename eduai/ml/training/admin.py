"""Admin of the fine-tuning pipeline: runs (status, progress, log; cancel; train now) and
snapshots. Registered from ``eduai/ml/admin.py``."""

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import path, reverse

from eduai.ml.models import ModelVersion

from .models import TrainingRun, TrainingSnapshot
from .services import TrainingError, training_run_cancel, training_run_request
from .sources import TrainingDataError


class TrainNowForm(forms.Form):
    task = forms.ChoiceField(
        choices=[
            (ModelVersion.Task.GRADING_SCORER, "Grading scorer"),
            (ModelVersion.Task.GENERATION, "Tutor generator"),
        ]
    )
    scope = forms.CharField(
        required=False,
        help_text='"assignment:<id>" for a scorer; empty (all courses) or "course:<id>" for the tutor.',
    )
    force = forms.BooleanField(required=False, help_text="Train even if the data has not changed.")


@admin.register(TrainingRun)
class TrainingRunAdmin(admin.ModelAdmin[TrainingRun]):
    list_display = [
        "id",
        "task",
        "scope",
        "status",
        "progress",
        "loss",
        "eta_seconds",
        "reason",
        "created_at",
    ]
    list_filter = ["task", "status", "trainer", "reason"]
    search_fields = ["scope"]
    readonly_fields = [
        "task",
        "scope",
        "snapshot",
        "trainer",
        "config",
        "seed",
        "reason",
        "status",
        "step",
        "total_steps",
        "epoch",
        "loss",
        "eta_seconds",
        "checkpoint_step",
        "checkpoint_dir",
        "heartbeat_at",
        "worker",
        "attempts",
        "cancel_requested",
        "log",
        "error",
        "metrics",
        "model_version",
        "requested_by",
        "created_at",
        "started_at",
        "finished_at",
    ]
    actions = ["cancel", "train_again"]
    change_list_template = "admin/ml/trainingrun/change_list.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description="progress")
    def progress(self, run: TrainingRun) -> str:
        if not run.total_steps:
            return "-"
        return (
            f"step {run.step}/{run.total_steps} (epoch {run.epoch + 1}, {100 * run.step // run.total_steps}%)"
        )

    @admin.action(description="Cancel the selected runs")
    def cancel(self, request: HttpRequest, queryset: QuerySet[TrainingRun]) -> None:
        for run in queryset.filter(status__in=TrainingRun.ACTIVE):
            training_run_cancel(run=run, actor=request.user)
        self.message_user(request, "Cancellation requested; running runs stop at their next progress report.")

    @admin.action(description="Train now (same task and scope, even if the data is unchanged)")
    def train_again(self, request: HttpRequest, queryset: QuerySet[TrainingRun]) -> None:
        for run in queryset:
            self._train(request, run.task, run.scope, force=True)

    def _train(self, request: HttpRequest, task: str, scope: str, *, force: bool) -> None:
        try:
            run = training_run_request(
                task=task, scope=scope, reason="admin", actor=request.user, force=force
            )
        except (TrainingError, TrainingDataError) as error:
            self.message_user(request, str(error), messages.ERROR)
            return
        if run is None:
            self.message_user(
                request, f"{task} {scope!r}: the data has not changed since the last run.", messages.WARNING
            )
        else:
            self.message_user(request, f"{run} is queued or running.", messages.SUCCESS)

    def get_urls(self) -> list:  # type: ignore[type-arg]
        return [
            path(
                "train-now/", self.admin_site.admin_view(self.train_now_view), name="ml_trainingrun_train_now"
            ),
            *super().get_urls(),
        ]

    def train_now_view(self, request: HttpRequest) -> HttpResponse:
        form = TrainNowForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            self._train(request, data["task"], data["scope"].strip(), force=data["force"])
            return HttpResponseRedirect(reverse("admin:ml_trainingrun_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "form": form,
            "title": "Train now",
            "opts": self.opts,
        }
        return render(request, "admin/ml/trainingrun/train_now.html", context)


@admin.register(TrainingSnapshot)
class TrainingSnapshotAdmin(admin.ModelAdmin[TrainingSnapshot]):
    list_display = ["id", "kind", "task", "scope", "row_count", "split_counts", "content_hash", "created_at"]
    list_filter = ["kind", "task"]
    readonly_fields = [field.name for field in TrainingSnapshot._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
