from django.contrib import admin, messages

from accounts.models import ApiKey, hash_key


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ("prefix", "name", "user", "created_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at",)
    readonly_fields = ("prefix", "created_at", "last_used_at")
    fields = ("user", "name", "prefix", "created_at", "last_used_at", "revoked_at")

    def save_model(self, request, obj, form, change):
        if not change:
            # The raw key is shown once, here; only its hash is stored.
            _, raw = ApiKey.issue(user=obj.user, name=obj.name)
            created = ApiKey.objects.get(hashed=hash_key(raw))
            obj.pk, obj.prefix, obj.hashed = created.pk, created.prefix, created.hashed
            messages.warning(request, f"New API key (copy it now, it is not shown again): {raw}")
            return
        super().save_model(request, obj, form, change)
