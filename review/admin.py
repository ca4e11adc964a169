from django.contrib import admin

from review.models import AuditEvent, ExpectedFile, Review
from runs.admin import ReadOnlyAdmin


class ExpectedFileInline(admin.TabularInline):
    model = ExpectedFile
    extra = 0


@admin.register(Review)
class ReviewAdmin(admin.ModelAdmin):
    list_display = ("run", "rating", "status", "has_expected", "promoted_example_name", "updated_at", "updated_by")
    list_filter = ("rating", "status", "has_expected")
    raw_id_fields = ("run", "promoted_example")
    search_fields = ("=run__id",)
    readonly_fields = ("version",)
    show_full_result_count = False
    inlines = [ExpectedFileInline]


@admin.register(ExpectedFile)
class ExpectedFileAdmin(admin.ModelAdmin):
    list_display = ("review", "name", "size", "created_at")
    raw_id_fields = ("review",)


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    """The audit trail is a record: readable here, never added, changed or deleted, not even by a
    superuser (docs/security.md)."""

    list_display = ("created_at", "run", "user", "via", "action")
    list_filter = ("via", "action")
    raw_id_fields = ("run",)
    search_fields = ("=run__id",)
    show_full_result_count = False
