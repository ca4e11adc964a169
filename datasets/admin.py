from django.contrib import admin

from datasets.models import Example, ExampleFile


class ExampleFileInline(admin.TabularInline):
    model = ExampleFile
    extra = 0


@admin.register(Example)
class ExampleAdmin(admin.ModelAdmin):
    list_display = ("name", "automation", "source_run", "updated_at")
    list_filter = ("automation",)
    search_fields = ("name",)
    raw_id_fields = ("source_run",)
    inlines = [ExampleFileInline]


@admin.register(ExampleFile)
class ExampleFileAdmin(admin.ModelAdmin):
    list_display = ("example", "folder", "path", "size")
    raw_id_fields = ("example",)
