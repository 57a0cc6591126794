"""La Poste Suivi v2 event codes and their normalised tracking status.

The codes are La Poste's "codes événements", shared by Colissimo, Courrier and Chronopost parcels in Suivi
v2. The table is written out here so the adapter does no I/O for it; every event keeps its raw code and
La Poste's own label, so a code missing here degrades to ``UNKNOWN`` without losing information.

``PC1``/``PC2`` (taken over by La Poste) map to ``DROPPED_OFF``: a Colissimo return is handed in at a post
office or relay point, or left in the customer's letterbox; the service corrects the first acceptance scan
to ``PICKED_UP`` where it booked a letterbox pickup. ``RE1`` (on its way back to the sender) and ``DI2``
(delivered back to the sender) are both ``RETURNED_TO_SENDER``.
"""

from __future__ import annotations

from types import MappingProxyType

from carriers.models import TrackingStatus

_S = TrackingStatus

#: Suivi v2 event code → (normalised status, La Poste's own wording).
EVENT_CODES: MappingProxyType[str, tuple[TrackingStatus, str]] = MappingProxyType(
    {
        "DR1": (_S.LABEL_CREATED, "Déclaratif réceptionné"),
        "PC1": (_S.DROPPED_OFF, "Pris en charge"),
        "PC2": (_S.DROPPED_OFF, "Pris en charge dans le pays d'expédition"),
        "ET1": (_S.IN_TRANSIT, "En cours de traitement"),
        "ET2": (_S.IN_TRANSIT, "En cours de traitement dans le pays d'expédition"),
        "ET3": (_S.IN_TRANSIT, "En cours de traitement dans le pays de destination"),
        "ET4": (_S.IN_TRANSIT, "En cours de traitement dans un pays de transit"),
        "EP1": (_S.IN_TRANSIT, "En attente de présentation"),
        "DO1": (_S.IN_TRANSIT, "Entrée en douane"),
        "DO2": (_S.IN_TRANSIT, "Sortie de douane"),
        "DO3": (_S.EXCEPTION, "Retenu en douane"),
        "PB1": (_S.EXCEPTION, "Problème en cours"),
        "PB2": (_S.IN_TRANSIT, "Problème résolu"),
        "MD2": (_S.OUT_FOR_DELIVERY, "Mis en distribution"),
        "ND1": (_S.EXCEPTION, "Non distribuable"),
        "AG1": (_S.AWAITING_COLLECTION, "En attente d'être retiré au guichet"),
        "RE1": (_S.RETURNED_TO_SENDER, "Retourné à l'expéditeur"),
        "DI1": (_S.DELIVERED, "Distribué"),
        "DI2": (_S.RETURNED_TO_SENDER, "Distribué à l'expéditeur"),
    }
)


def status_for(code: str) -> TrackingStatus:
    """The normalised status of a Suivi v2 event code; ``UNKNOWN`` for a code not in the list."""
    entry = EVENT_CODES.get(code.strip().upper())
    return entry[0] if entry is not None else TrackingStatus.UNKNOWN


def description_for(code: str) -> str:
    """La Poste's own short wording for an event code, or ``""`` for a code not in the list."""
    entry = EVENT_CODES.get(code.strip().upper())
    return entry[1] if entry is not None else ""
