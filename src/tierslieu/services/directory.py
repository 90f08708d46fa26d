"""The public directory as open data: every opened asset at its structure's place.

Public facts only (structures, assets, audience, accessibility): never a person.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tierslieu.models import Asset, Structure

LICENCE = "Licence Ouverte / Open Licence 2.0"
LICENCE_URL = "https://www.etalab.gouv.fr/licence-ouverte-open-licence/"
# The directory is small (a territory's opened places); a hard bound all the same.
MAX_ROWS = 5000


async def directory_rows(session: AsyncSession) -> list[tuple[Structure, Asset]]:
    rows = await session.execute(
        select(Structure, Asset)
        .join(Asset, Asset.structure_id == Structure.id)
        .where(Asset.archived_at.is_(None))
        .order_by(Structure.commune, Structure.name, Asset.name)
        .limit(MAX_ROWS)
    )
    return list(rows.tuples())


def properties(structure: Structure, asset: Asset, public_url: str) -> dict[str, Any]:
    """One flat record per asset (flat so that uMap, QGIS and spreadsheets read it as is)."""
    page = "cantine" if asset.kind == "canteen" else "ressources"
    return {
        "structure": structure.name,
        "structure_slug": structure.slug,
        "structure_kind": structure.kind,
        "address": structure.address,
        "postcode": structure.postcode,
        "commune": structure.commune,
        "asset": asset.name,
        "asset_id": str(asset.id),
        "asset_kind": asset.kind,
        "booking_mode": asset.booking_mode,
        "audience": ", ".join(asset.audience),
        "wheelchair": asset.wheelchair,
        "step_free": asset.step_free,
        "accessible_toilets": asset.accessible_toilets,
        "url": f"{public_url.rstrip('/')}/{page}/{asset.id}",
    }


def geojson(rows: list[tuple[Structure, Asset]], public_url: str) -> dict[str, Any]:
    """RFC 7946 FeatureCollection: one Point (longitude, latitude) per asset with a place."""
    return {
        "type": "FeatureCollection",
        "licence": LICENCE,
        "licence_url": LICENCE_URL,
        "features": [
            {
                "type": "Feature",
                "id": str(asset.id),
                "geometry": {
                    "type": "Point",
                    "coordinates": [structure.longitude, structure.latitude],
                },
                "properties": properties(structure, asset, public_url),
            }
            for structure, asset in rows
            if structure.latitude is not None and structure.longitude is not None
        ],
    }


CSV_COLUMNS = [
    "structure",
    "structure_slug",
    "structure_kind",
    "address",
    "postcode",
    "commune",
    "latitude",
    "longitude",
    "asset",
    "asset_id",
    "asset_kind",
    "booking_mode",
    "audience",
    "wheelchair",
    "step_free",
    "accessible_toilets",
    "url",
]


def csv_rows(rows: list[tuple[Structure, Asset]], public_url: str) -> list[list[Any]]:
    out = []
    for structure, asset in rows:
        record = properties(structure, asset, public_url)
        record["latitude"] = structure.latitude
        record["longitude"] = structure.longitude
        out.append([record[c] for c in CSV_COLUMNS])
    return out
