"""Licence normalisation: URLs, prose, and the priority of JATS licence markup."""

from __future__ import annotations

import pytest
from lxml import etree

from mmrare.curation.licence import (
    Licence,
    licence_from_text,
    licence_from_url,
    licence_id,
    normalise_licence,
)

NS = 'xmlns:xlink="http://www.w3.org/1999/xlink" xmlns:ali="http://www.niso.org/schemas/ali/1.0/"'


def meta(inner: str) -> etree._Element:
    return etree.fromstring(f"<article-meta {NS}>{inner}</article-meta>")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://creativecommons.org/licenses/by/4.0/", "CC-BY-4.0"),
        ("http://creativecommons.org/licenses/by/2.0", "CC-BY-2.0"),
        ("https://creativecommons.org/licenses/by/3.0/legalcode", "CC-BY-3.0"),
        ("http://creativecommons.org/licenses/by-nc/3.0", "CC-BY-NC-3.0"),
        ("https://creativecommons.org/licenses/by-nc-nd/4.0/", "CC-BY-NC-ND-4.0"),
        ("http://creativecommons.org/licenses/by-nd-nc/1.0/", "CC-BY-NC-ND-1.0"),
        ("https://creativecommons.org/licenses/by-nc-sa/4.0/deed.en", "CC-BY-NC-SA-4.0"),
        ("https://creativecommons.org/licenses/by-sa/4.0/", "CC-BY-SA-4.0"),
        ("https://creativecommons.org/licenses/by-nd/4.0/", "CC-BY-ND-4.0"),
        ("https://creativecommons.org/licenses/by/4/", "CC-BY-4.0"),
        ("https://creativecommons.org/licenses/by-nc/", "CC-BY-NC"),
        ("http://creativecommons.org/publicdomain/zero/1.0/", "CC0-1.0"),
        ("https://creativecommons.org/publicdomain/mark/1.0/", "PDM-1.0"),
        ("https://www.elsevier.com/tdm/userlicense/1.0/", None),
        ("//www.ncbi.nlm.nih.gov/pmc/about/scanning/", None),
        ("https://creativecommons.org/licenses/sampling/1.0/", None),
    ],
)
def test_licence_from_url(url: str, expected: str | None) -> None:
    assert licence_from_url(url) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("This work is licensed under a Creative Commons Attribution-NonCommercial-NoDerivatives 4.0 "
         "International License.", "CC-BY-NC-ND-4.0"),
        ("This is an open access article distributed under the terms of the Creative Commons Attribution "
         "License, which permits unrestricted use.", "CC-BY"),
        ("distributed under the terms of the Creative Commons Attribution Licence, which permits", "CC-BY"),
        ("licensed under a Creative Commons Attribution 4.0 International License, which permits use",
         "CC-BY-4.0"),
        ("licensed under a Creative Commons Attribution-NonCommercial-ShareAlike 4.0 International License",
         "CC-BY-NC-SA-4.0"),
        ("the Creative Commons Attribution Non-Commercial No Derivatives (by-nc-nd) License.", "CC-BY-NC-ND"),
        ("the Creative Commons Attribution Non-Commercial License (http://creativecommons.org/licenses/by-nc/3.0)",
         "CC-BY-NC-3.0"),
        ("terms and conditions of the Creative Commons Attribution (CC BY) license", "CC-BY"),
        ("This is an open access article under the CC BY-NC-ND license (http://creativecommons.org/licenses/"
         "by-nc-nd/4.0/).", "CC-BY-NC-ND-4.0"),
        ("This is an open access article under the CC BY-NC-ND license.", "CC-BY-NC-ND"),
        ("CC BY-NC-ND 4.0", "CC-BY-NC-ND-4.0"),
        ("CC BY 4.0", "CC-BY-4.0"),
        ("Creative Commons Attribution License, which permits any non-commercial reader to ...", "CC-BY"),
        ("Publication of EHP lies in the public domain and is therefore without copyright.", "PDM-1.0"),
        ("The work is dedicated to the public domain under CC0.", "CC0-1.0"),
        ("This article is made available via the PMC Open Access Subset for unrestricted research re-use "
         "for the duration of the WHO declaration of COVID-19 as a global pandemic.", None),
        ("Copyright © 2010 Cancer Research UK", None),
        ("", None),
    ],
)
def test_licence_from_text(text: str, expected: str | None) -> None:
    assert licence_from_text(text) == expected


def test_attribution_licence_wins_over_cc0_data_waiver_in_prose() -> None:
    text = ("This article is distributed under the terms of the Creative Commons Attribution 4.0 "
            "International License. The Creative Commons Public Domain Dedication waiver applies to the "
            "data made available.")
    assert licence_from_text(text) == "CC-BY-4.0"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://creativecommons.org/licenses/by/4.0/", "CC-BY-4.0"),
        ("Creative Commons Attribution License", "CC-BY"),
        ("All rights reserved", "unknown"),
        ("", "unknown"),
        (None, "unknown"),
    ],
)
def test_licence_id_takes_url_or_text(value: str | None, expected: str) -> None:
    assert licence_id(value) == expected


def test_ali_license_ref_has_priority_and_url_wins_over_content_type() -> None:
    # PMC scanned back issues: content-type says "cc0license" but the URL is the public-domain mark.
    result = normalise_licence(meta(
        '<permissions><license xlink:href="http://creativecommons.org/licenses/by/2.0">'
        '<ali:license_ref content-type="cc0license">https://creativecommons.org/publicdomain/mark/1.0/'
        "</ali:license_ref><license-p>Free of known copyright restrictions.</license-p></license>"
        "</permissions>"
    ))
    assert result == Licence("PDM-1.0", "https://creativecommons.org/publicdomain/mark/1.0/",
                             "Free of known copyright restrictions.")


def test_ali_namespace_without_trailing_slash_is_recognised() -> None:
    element = etree.fromstring(
        '<article-meta xmlns:ali="http://www.niso.org/schemas/ali/1.0"><permissions><license>'
        "<ali:license_ref>http://creativecommons.org/licenses/by-nc/4.0/</ali:license_ref>"
        "</license></permissions></article-meta>"
    )
    assert normalise_licence(element).spdx_id == "CC-BY-NC-4.0"


def test_license_href_beats_ext_link_and_text() -> None:
    result = normalise_licence(meta(
        '<permissions><license license-type="open-access" xlink:href="http://creativecommons.org/licenses/by-nc-nd/3.0/">'
        '<license-p>Creative Commons Attribution License (<ext-link xlink:href="http://creativecommons.org/'
        'licenses/by/4.0/">link</ext-link>)</license-p></license></permissions>'
    ))
    assert result.spdx_id == "CC-BY-NC-ND-3.0"
    assert result.url == "http://creativecommons.org/licenses/by-nc-nd/3.0/"


def test_first_recognised_ext_link_wins_over_later_cc0_data_waiver() -> None:
    result = normalise_licence(meta(
        "<permissions><license><license-p>Distributed under the Creative Commons Attribution 4.0 "
        'International License (<ext-link xlink:href="http://creativecommons.org/licenses/by/4.0/">x'
        "</ext-link>). The "
        'Public Domain Dedication waiver (<ext-link xlink:href="http://creativecommons.org/publicdomain/zero/'
        '1.0/">y</ext-link>) applies to the data.</license-p></license></permissions>'
    ))
    assert result.spdx_id == "CC-BY-4.0"


def test_text_only_licence_and_licence_type_attribute() -> None:
    text_only = normalise_licence(meta(
        "<permissions><license><license-p>This is an open-access article distributed under the terms of the "
        "Creative Commons Attribution License, which permits unrestricted use.</license-p></license>"
        "</permissions>"
    ))
    assert text_only.spdx_id == "CC-BY"
    assert text_only.url is None
    assert text_only.text is not None and text_only.text.startswith("This is an open-access article")
    by_type = normalise_licence(meta('<permissions><license license-type="CC BY-NC-ND"/></permissions>'))
    assert by_type.spdx_id == "CC-BY-NC-ND"


def test_nlm2_license_with_plain_p_and_copyright_statement_fallback() -> None:
    bmc = normalise_licence(meta(
        "<permissions><license><p>This is an Open Access article distributed under the terms of the Creative "
        'Commons Attribution License (<ext-link xlink:href="http://creativecommons.org/licenses/by/2.0"/>)'
        "</p></license></permissions>"
    ))
    assert bmc.spdx_id == "CC-BY-2.0"
    plos_2007 = normalise_licence(meta(
        "<copyright-statement>Tenaillon et al. This is an open-access article distributed under the terms of "
        "the Creative Commons Attribution License, which permits unrestricted use.</copyright-statement>"
    ))
    assert plos_2007.spdx_id == "CC-BY"


def test_figure_permissions_and_missing_licence_give_unknown() -> None:
    result = normalise_licence(meta(
        "<permissions><copyright-statement>© Springer 2007</copyright-statement></permissions>"
        '<fig><permissions><license xlink:href="https://creativecommons.org/licenses/by/4.0/"/></permissions></fig>'
    ))
    assert result == Licence("unknown", None, None)
    assert normalise_licence(None) == Licence("unknown", None, None)


def test_unrecognised_licence_keeps_url_and_text_for_audit() -> None:
    result = normalise_licence(meta(
        '<permissions><license><ali:license_ref>https://www.elsevier.com/tdm/userlicense/1.0/</ali:license_ref>'
        "<license-p>Publisher licence.</license-p></license></permissions>"
    ))
    assert result == Licence("unknown", "https://www.elsevier.com/tdm/userlicense/1.0/", "Publisher licence.")
