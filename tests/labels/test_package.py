"""The package's public surface and its independence from the service."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import labels


def test_public_api_is_pinned() -> None:
    assert all(hasattr(labels, name) for name in labels.__all__)
    assert set(labels.__all__) == {
        "PAGE_SIZES",
        "SUPPORTED_LANGUAGES",
        "BarcodeEncodingError",
        "CarrierLabelError",
        "CarrierLabelImage",
        "DeviceInfo",
        "DispatchSlip",
        "FontUnavailableError",
        "LabelAddress",
        "LabelDescription",
        "LabelRenderError",
        "PackedItem",
        "PackingInstructions",
        "PageFormat",
        "PickupInfo",
        "SupportHours",
        "render_label",
        "support_hours_text",
        "unprintable",
        "warm_up",
    }


def test_error_tree_has_one_root() -> None:
    for error in (labels.BarcodeEncodingError, labels.CarrierLabelError, labels.FontUnavailableError):
        assert issubclass(error, labels.LabelRenderError)


def test_import_reads_nothing_and_rendering_pulls_in_no_service_code() -> None:
    script = textwrap.dedent(
        """
        import sys
        import labels
        from labels.typeface import typeface
        from labels.catalogue import messages
        assert typeface.cache_info().currsize == 0, "font read at import"
        assert messages.cache_info().currsize == 0, "catalogue read at import"
        from tests.labels.label_builders import description
        labels.render_label(description(), "a4")
        forbidden = {"logistics", "carriers", "aiohttp", "asyncio"}
        print(sorted(m for m in sys.modules if m.split(".")[0] in forbidden))
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
