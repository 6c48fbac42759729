"""The workspace: name, time zone and languages of the whole stack."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from supportctl.config.model.common import LanguageCode, StackModel, TimeZoneName

BUILTIN_CONTACT_ATTRIBUTES = ("id", "name", "first_name", "language", "phone", "email", "country")


class Workspace(StackModel):
    """Who this stack serves and in which languages."""

    name: Annotated[str, Field(min_length=1, examples=["Acme Support"])]
    """Name shown to agents and in notifications."""
    timezone: TimeZoneName
    """Default time zone of schedules and of reports."""
    languages: Annotated[list[LanguageCode], Field(min_length=1, examples=[["en", "de"]])] = ["en"]
    """Languages customers are served in; every text should exist in each."""
    default_language: Annotated[LanguageCode | None, Field(examples=["en"])] = None
    """Language used when a contact's is unknown or not served; the first of `languages` when
    absent."""
    contact_attributes: Annotated[list[Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]],
                                  Field(examples=[["segment", "plan"]])] = []
    """Contact attributes beyond the built-in ones (id, name, first_name, language, phone,
    email, country) that rules and templates may use as `contact.<attribute>`."""
    public_url: Annotated[str | None, Field(pattern=r"^https?://", examples=[
        "https://support.acme.example"])] = None
    """Public base URL of `supportctl serve`, used for links in notifications."""

    @property
    def language(self) -> str:
        """The default language."""
        return self.default_language or self.languages[0]
