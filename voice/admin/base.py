"""What every voice admin shares: tenant scoping, role-aware permissions, feature flags, services.

Scoping. A non-superuser sees the rows of the organizations they belong to and nothing else: the
change lists read through the voice selectors with the admin's caller (voice.access.caller_for_user,
no organization chosen: all of the user's), the organization filter lists only those organizations,
form choices (organization, location, service, provider) offer only rows in scope, and a URL naming
another organization's row answers 404, exactly like a row that does not exist (Django's admin would
redirect with "doesn't exist. Perhaps it was deleted?"; a 404 says the same and nothing more).

Permissions are the model permission (as everywhere in the admin) and the membership role for that
organization (voice.access.ROLE_WRITES): staff see a location read-only, managers edit it.

A disabled feature (voice.features) hides its admin pages: they leave the index and answer 404.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import URLPattern

from config.errors import DomainError
from voice.access import VoiceCaller, caller_for_user
from voice.features import model_enabled
from voice.models import Location, Organization, Provider, Service

CALLER_ATTRIBUTE = "_voice_admin_caller"


def admin_caller(request: HttpRequest) -> VoiceCaller:
    """The admin user's caller, resolved once per request (one query for the memberships)."""
    caller = getattr(request, CALLER_ATTRIBUTE, None)
    if caller is None:
        caller = caller_for_user(request.user)
        setattr(request, CALLER_ATTRIBUTE, caller)
    return caller


class OrganizationFilter(admin.SimpleListFilter):
    """By organization, offering only the caller's organizations (a superuser's: all of them)."""

    title = "organization"
    parameter_name = "organization"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        caller = admin_caller(request)
        if caller.is_superuser:
            return [
                (str(pk), name)
                for pk, name in Organization.objects.order_by("name").values_list("pk", "name")
            ]
        return [(str(org.pk), org.name) for org in caller.organizations]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if value is None:
            return queryset
        if value not in {key for key, _ in self.lookup_choices}:
            return queryset.none()
        return queryset.filter(organization_id=int(value))


class ScopedRelatedFilter(admin.SimpleListFilter):
    """By a related row (location, provider, ...) of the caller's scope; subclasses set the model."""

    related_model: type[Model] = Location
    field_name = "location"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        rows = admin_caller(request).scope(self.related_model.objects.all()).order_by("name")
        return [(str(pk), name) for pk, name in rows.values_list("pk", "name")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if value is None:
            return queryset
        if value not in {key for key, _ in self.lookup_choices}:
            return queryset.none()
        return queryset.filter(**{f"{self.field_name}_id": int(value)})


class LocationFilter(ScopedRelatedFilter):
    title = "location"
    parameter_name = "location"
    related_model = Location
    field_name = "location"


class ProviderFilter(ScopedRelatedFilter):
    title = "provider"
    parameter_name = "provider"
    related_model = Provider
    field_name = "provider"


SCOPED_CHOICES: dict[type[Model], Callable[[VoiceCaller], QuerySet]] = {
    Location: lambda caller: caller.scope(Location.objects.all()),
    Service: lambda caller: caller.scope(Service.objects.all()),
    Provider: lambda caller: caller.scope(Provider.objects.all()),
}


class TenantConsistentFormMixin:
    """Every row a form refers to (a location, services, providers, ...) belongs to the organization of
    the row being edited: the chosen organization, the instance's, or its location's. The choices are
    already limited to the user's organizations; this catches a mix of two of them."""

    def clean(self) -> dict[str, Any]:
        data = super().clean()  # type: ignore[misc]
        instance = self.instance  # type: ignore[attr-defined]
        organization = data.get("organization") or getattr(instance, "organization", None)
        if organization is None and data.get("location") is not None:
            organization = data["location"].organization
        if organization is None:
            return data
        for name, value in list(data.items()):
            rows = list(value) if isinstance(value, QuerySet | list | tuple) else [value]
            foreign = [
                row
                for row in rows
                if isinstance(row, Model)
                and getattr(row, "organization_id", organization.pk) != organization.pk
            ]
            if foreign:
                self.add_error(  # type: ignore[attr-defined]
                    name,
                    f"Choose only rows of {organization}: {', '.join(str(row) for row in foreign)} belong elsewhere.",
                )
        return data


class VoiceAdminMixin:
    """Tenant scoping, role-aware permissions and feature flags for a voice ModelAdmin (see the module
    docstring). `selector(caller)` is the change list's queryset; it must be scoped to the caller."""

    model: type[Model]
    selector: Callable[[VoiceCaller], QuerySet] | None = None

    # -- scoping

    def caller(self, request: HttpRequest) -> VoiceCaller:
        return admin_caller(request)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        caller = self.caller(request)
        if self.selector is not None:
            queryset = type(self).selector(caller=caller)  # type: ignore[misc]
        else:
            queryset = caller.scope(self.model._default_manager.all())
        ordering = self.get_ordering(request)  # type: ignore[attr-defined]
        return queryset.order_by(*ordering) if ordering else queryset

    def _get_obj_does_not_exist_redirect(
        self, request: HttpRequest, opts: Any, object_id: str
    ) -> HttpResponse:
        raise Http404(f"No {opts.verbose_name} with id {object_id}.")

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        # The row being edited, for the choices below: they offer only rows of its organization.
        request._voice_admin_object = obj
        form = super().get_form(request, obj, change=change, **kwargs)  # type: ignore[misc]
        return type(form.__name__, (TenantConsistentFormMixin, form), {})

    def _scoped_choices(self, request: HttpRequest, model: type[Model]) -> QuerySet:
        queryset = SCOPED_CHOICES[model](self.caller(request))
        obj = getattr(request, "_voice_admin_object", None)
        organization_id = getattr(obj, "organization_id", None)
        return queryset.filter(organization_id=organization_id) if organization_id else queryset

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        caller = self.caller(request)
        if db_field.related_model is Organization:
            ids = caller.writable_organization_ids(self.model._meta.model_name)
            queryset = Organization.objects.order_by("name")
            kwargs["queryset"] = queryset if ids is None else queryset.filter(pk__in=sorted(ids))
        elif db_field.related_model in SCOPED_CHOICES:
            kwargs["queryset"] = self._scoped_choices(request, db_field.related_model)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)  # type: ignore[misc]

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.related_model in SCOPED_CHOICES:
            kwargs["queryset"] = self._scoped_choices(request, db_field.related_model)
        return super().formfield_for_manytomany(db_field, request, **kwargs)  # type: ignore[misc]

    # -- permissions: the model permission and the membership role; feature flags

    def _enabled(self) -> bool:
        return model_enabled(self.model._meta.model_name)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._enabled() and super().has_module_permission(request)  # type: ignore[misc]

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if not self._enabled() or not super().has_view_permission(request, obj):  # type: ignore[misc]
            return False
        return obj is None or self.caller(request).reaches(obj.organization_id)

    def _may_write(self, request: HttpRequest, obj: Any) -> bool:
        caller = self.caller(request)
        name = self.model._meta.model_name
        if obj is None:
            ids = caller.writable_organization_ids(name)
            return ids is None or bool(ids)
        return caller.may_write(name, obj.organization_id)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return (
            self._enabled() and super().has_add_permission(request, *args) and self._may_write(request, None)
        )  # type: ignore[misc]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return (
            self._enabled()
            and super().has_change_permission(request, obj)  # type: ignore[misc]
            and self._may_write(request, obj)
        )

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return (
            self._enabled()
            and super().has_delete_permission(request, obj)  # type: ignore[misc]
            and self._may_write(request, obj)
        )

    def get_urls(self) -> list[Any]:
        """Every page of this admin answers 404 while its feature is off (read per request)."""
        urls = super().get_urls()  # type: ignore[misc]
        for pattern in urls:
            if isinstance(pattern, URLPattern):
                pattern.callback = self._feature_guard(pattern.callback)
        return urls

    def _feature_guard(self, view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @functools.wraps(view)
        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not self._enabled():
                raise Http404("Not found.")
            return view(request, *args, **kwargs)

        return guarded

    # -- saving: domain errors the services raise at save time come back as a message

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: Any = None,
    ) -> Any:
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)  # type: ignore[misc]
        except DomainError as error:
            self.message_user(request, f"Nothing was saved: {error.detail}", messages.ERROR)  # type: ignore[attr-defined]
            return HttpResponseRedirect(request.get_full_path())


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def formset_rows(formset: Any, fields: list[str]) -> list[dict[str, Any]]:
    """The rows an inline formset asks for (deleted and untouched extra forms left out), as a
    service's nested set. Sets the formset's new/changed/deleted objects for the admin's log."""
    rows: list[dict[str, Any]] = []
    formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
    for form in formset.forms:
        is_new = form in formset.extra_forms
        if formset.can_delete and formset._should_delete_form(form):
            if not is_new:
                formset.deleted_objects.append(form.instance)
            continue
        if is_new and not form.has_changed():
            continue
        if not hasattr(form, "cleaned_data"):
            continue
        rows.append({name: form.cleaned_data.get(name) for name in fields})
        if is_new:
            formset.new_objects.append(form.instance)
        elif form.has_changed():
            formset.changed_objects.append((form.instance, form.changed_data))
    return rows


class JSONTextarea(forms.Textarea):
    def __init__(self, rows: int = 8) -> None:
        super().__init__(attrs={"rows": rows, "cols": 90, "style": "font-family: monospace"})
