import io

from django.contrib import admin
from django.core.management import call_command

from runs.models import Automation, ChipCount, Run, RunFile, SamplingRateChange


class SamplingRateChangeInline(admin.TabularInline):
    model = SamplingRateChange
    extra = 0
    # History is append-only: a rate change goes through runs.policy.sampling_rate_set.
    readonly_fields = ("old_bp", "new_bp", "effective_at", "changed_by", "reason")
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Automation)
class AutomationAdmin(admin.ModelAdmin):
    list_display = ("ref", "name", "sampling_rate_bp", "auto_resolve", "created_at")
    list_filter = ("kind",)
    search_fields = ("slug", "name")
    readonly_fields = ("sampling_rate_bp",)
    inlines = [SamplingRateChangeInline]


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows that are a record: readable in the admin, never added, changed or deleted there."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(SamplingRateChange)
class SamplingRateChangeAdmin(ReadOnlyAdmin):
    """Read-only: a rate change goes through runs.policy.sampling_rate_set (the sampling page
    or the API), which re-samples runs stamped later and moves every counter that follows."""

    list_display = ("automation", "old_bp", "new_bp", "effective_at", "changed_by", "reason")
    list_filter = ("automation",)
    list_select_related = ("automation", "changed_by")


class RunFileInline(admin.TabularInline):
    model = RunFile
    extra = 0


@admin.register(Run)
class RunAdmin(admin.ModelAdmin):
    list_display = ("id", "automation", "status", "chip", "sampled", "created_at")
    list_filter = ("status", "chip", "sampled", "automation")
    search_fields = ("=id",)
    list_select_related = ("automation",)
    readonly_fields = ("sample_bucket", "sampled", "chip", "output_preview")
    show_full_result_count = False  # no COUNT(*) over a million runs
    date_hierarchy = None
    inlines = [RunFileInline]

    # Deleting runs here bypasses the services, so rebuild the counters they keep, reviews'
    # included: through the `recount` command, which knows every counter (runs sits below them).
    def delete_model(self, request, obj):
        automation = obj.automation
        super().delete_model(request, obj)
        call_command("recount", automation.ref, stdout=io.StringIO())

    def delete_queryset(self, request, queryset):
        automations = list(Automation.objects.filter(pk__in=queryset.values("automation_id")))
        super().delete_queryset(request, queryset)
        for automation in automations:
            call_command("recount", automation.ref, stdout=io.StringIO())


@admin.register(RunFile)
class RunFileAdmin(admin.ModelAdmin):
    list_display = ("run", "role", "name", "size")
    raw_id_fields = ("run",)
    search_fields = ("=run__id", "name")
    show_full_result_count = False


@admin.register(ChipCount)
class ChipCountAdmin(admin.ModelAdmin):
    list_display = ("automation", "sampled", "chip", "count")
    list_filter = ("automation",)
