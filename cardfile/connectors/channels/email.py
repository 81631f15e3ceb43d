"""Email through Django's mail backend: SMTP from EMAIL_URL (files in var/sent-mail without it),
or the SMTP server the channel's own settings name."""

from __future__ import annotations

import hashlib
import smtplib
from typing import Any

from django.conf import settings as django_settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage, get_connection
from django.core.validators import validate_email
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cardfile.core.deliveries import DeliveryFailed, channel_register
from cardfile.core.models import Delivery

from .base import Channel

SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"


@channel_register("email")
class EmailChannel(Channel):
    """One email per delivery: the subject, the text as the body, to the address."""

    label = gettext_lazy("Email")
    position = 10
    address_label = gettext_lazy("email address")
    secret_settings = ("password",)
    settings_schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "from_email": {"type": "string", "maxLength": 254},
            "host": {"type": "string", "maxLength": 255},
            "port": {"type": "integer", "minimum": 1, "maximum": 65535},
            "username": {"type": "string", "maxLength": 255},
            "password": {"type": "string", "maxLength": 255},
            "security": {"enum": ["none", "starttls", "ssl"]},
            "timeout": {"type": "number", "exclusiveMinimum": 0, "maximum": 300},
        },
    }

    def normal_address(self, address: str) -> str:
        try:
            validate_email(address)
        except ValidationError:
            raise DeliveryFailed(
                _("%(address)r is not an email address.") % {"address": address}, retry=False
            ) from None
        return address

    def check_settings(self, settings: dict[str, Any]) -> dict[str, list[str]]:
        sender = settings.get("from_email")
        if sender:
            try:
                validate_email(sender)
            except ValidationError:
                return {"from_email": [_("%(value)r is not an email address.") % {"value": sender}]}
        return {}

    def send(self, delivery: Delivery, settings: dict[str, Any]) -> None:
        sender = settings.get("from_email") or django_settings.DEFAULT_FROM_EMAIL
        message = EmailMessage(
            subject=delivery.subject,
            body=delivery.body,
            from_email=sender,
            to=[delivery.address],
            connection=self._connection(settings),
            # One Message-ID per delivery: a message sent again after a lost answer is
            # recognisably the same message.
            headers={"Message-ID": _message_id(delivery, sender)},
        )
        try:
            message.send(fail_silently=False)
        except smtplib.SMTPRecipientsRefused as error:
            codes = [code for code, _text in error.recipients.values()]
            raise DeliveryFailed(
                _("The mail server refused the address %(address)s: %(answer)s")
                % {"address": delivery.address, "answer": _answers(error.recipients.values())},
                retry=any(code < 500 for code in codes),
            ) from None
        except smtplib.SMTPResponseException as error:
            raise DeliveryFailed(
                _("The mail server answered %(code)s: %(answer)s")
                % {"code": error.smtp_code, "answer": _text(error.smtp_error)},
                retry=error.smtp_code < 500,
            ) from None
        except (smtplib.SMTPException, OSError) as error:  # refused, reset, timed out
            raise DeliveryFailed(
                _("The mail server could not be reached: %(error)s")
                % {"error": str(error) or type(error).__name__},
                retry=True,
            ) from None

    def _connection(self, settings: dict[str, Any]) -> Any:
        timeout = settings.get("timeout") or getattr(django_settings, "EMAIL_TIMEOUT", None)
        if not settings.get("host"):
            return get_connection(fail_silently=False, timeout=timeout)
        security = settings.get("security", "none")
        default_port = {"ssl": 465, "starttls": 587}.get(security, 25)
        return get_connection(
            SMTP_BACKEND,
            fail_silently=False,
            host=settings["host"],
            port=settings.get("port") or default_port,
            username=settings.get("username") or "",
            password=settings.get("password") or "",
            use_tls=security == "starttls",
            use_ssl=security == "ssl",
            timeout=timeout,
        )


def _message_id(delivery: Delivery, sender: str) -> str:
    domain = sender.rpartition("@")[2].strip(">") or "localhost"
    digest = hashlib.sha256(delivery.key.encode()).hexdigest()[:16]
    return f"<cardfile.{delivery.pk}.{digest}@{domain}>"


def _text(answer: Any) -> str:
    return answer.decode(errors="replace") if isinstance(answer, bytes) else str(answer)


def _answers(answers: Any) -> str:
    return "; ".join(f"{code} {_text(text)}" for code, text in answers)
