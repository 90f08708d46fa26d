"""Every refusal of the canteen, each its own problem type (French msgids)."""

from __future__ import annotations

from typing import Any

from tierslieu.errors import Conflict, DomainError
from tierslieu.i18n import N_, Texts


class NotACanteen(DomainError):
    code = "not-a-canteen"
    status = 422
    title = N_("Pas une cantine")
    detail = N_("Les services de repas ne s'ouvrent que sur une cantine.")


class MealServiceExists(Conflict):
    code = "meal-service-exists"
    title = N_("Service déjà publié")
    detail = N_("Un service existe déjà pour cette cantine ce jour-là.")


class OrderCutoffPassed(DomainError):
    code = "order-cutoff-passed"
    status = 422
    title = N_("Commandes closes")
    detail = N_("Les commandes pour ce service étaient possibles jusqu'au {cutoff}.")
    formats = {"cutoff": "moment"}


class SoldOut(Conflict):
    code = "sold-out"
    title = N_("Plat épuisé")
    detail = N_("« {item} » n'est plus disponible.")

    @classmethod
    def describe(cls, _: Texts, params: dict[str, Any]) -> str:
        remaining = int(params.get("remaining") or 0)
        if remaining <= 0:
            return _(cls.detail, **params)
        return _.ngettext(
            "« {item} » : il ne reste qu'une portion.",
            "« {item} » : il ne reste que {n} portions.",
            remaining,
            item=params.get("item", ""),
        )


class PickupWindowFull(Conflict):
    code = "pickup-window-full"
    title = N_("Créneau de retrait complet")
    detail = N_("Le créneau de retrait de {starts} est complet : choisissez-en un autre.")
    formats = {"starts": "time"}


class ItemNotInService(DomainError):
    code = "item-not-in-service"
    status = 422
    title = N_("Plat hors menu")
    detail = N_("Un plat demandé n'est pas au menu de ce service.")


class ItemWithdrawn(Conflict):
    code = "item-withdrawn"
    title = N_("Plat retiré")
    detail = N_("« {item} » a été retiré du menu.")


class PickupWindowNotInService(DomainError):
    code = "pickup-window-not-in-service"
    status = 422
    title = N_("Créneau inconnu")
    detail = N_("Ce créneau de retrait n'appartient pas à ce service.")


class EmptyOrder(DomainError):
    code = "empty-order"
    status = 422
    title = N_("Commande vide")
    detail = N_("Choisissez au moins un plat.")


class OrderTooLarge(DomainError):
    code = "order-too-large"
    status = 422
    title = N_("Commande trop grande")
    detail = N_("Une commande compte au plus {max} portions.")


class NoTariff(DomainError):
    code = "no-tariff"
    status = 422
    title = N_("Aucun tarif")
    detail = N_("Aucun tarif de cette structure ne s'applique à vous.")


class NoPriceForTariff(DomainError):
    code = "no-price-for-tariff"
    status = 422
    title = N_("Prix manquant")
    detail = N_("« {item} » n'a pas de prix au tarif {tariff}.")


class AlreadyOrdered(Conflict):
    code = "already-ordered"
    title = N_("Déjà commandé")
    detail = N_(
        "Vous avez déjà une commande pour ce service ; annulez-la pour en passer une autre."
    )


class TooManyActiveOrders(Conflict):
    code = "too-many-active-orders"
    title = N_("Trop de commandes")
    detail = N_("Vous avez déjà {max} commandes en cours : attendez d'en avoir retiré une.")


class CancelCutoffPassed(DomainError):
    code = "cancel-cutoff-passed"
    status = 422
    title = N_("Trop tard pour annuler")
    detail = N_("Après la limite de commande, seule l'équipe de la cantine peut annuler.")


class OrderNotCancellable(Conflict):
    code = "order-not-cancellable"
    title = N_("Commande non annulable")
    detail = N_("Cette commande est {status} : elle ne s'annule plus.")
    formats = {"status": "label:order_status"}


class OrderCancelled(Conflict):
    code = "order-cancelled"
    title = N_("Commande annulée")
    detail = N_("Cette commande a été annulée.")


class ItemHasOrders(Conflict):
    code = "item-has-orders"
    title = N_("Plat déjà commandé")
    detail = N_(
        "« {item} » a déjà des commandes : on peut seulement ajouter des portions ou le retirer."
    )


class TariffDefaultTaken(Conflict):
    code = "tariff-default-taken"
    title = N_("Tarif par défaut déjà pris")
    detail = N_(
        "« {other} » est déjà le tarif par défaut des {kind} : retirez-le de ce tarif d'abord."
    )
    formats = {"kind": "label:person_kind"}


class UnknownTariff(DomainError):
    code = "unknown-tariff"
    status = 422
    title = N_("Tarif inconnu")
    detail = N_("Le tarif {tariff} n'existe pas dans cette structure.")


class SuspendedMealsNotOffered(DomainError):
    code = "suspended-meals-not-offered"
    status = 422
    title = N_("Repas suspendus indisponibles")
    detail = N_("Cette structure ne propose pas de repas suspendus.")


class PoolEmpty(Conflict):
    code = "suspended-meals-pool-empty"
    title = N_("Plus de repas suspendus")
    detail = N_("Personne n'en a offert pour le moment, ou ils ont tous été donnés.")


class PoolAlreadySpent(Conflict):
    code = "suspended-meals-already-given"
    title = N_("Repas suspendus déjà donnés")
    detail = N_(
        "Les repas suspendus de cette commande ont déjà été donnés : impossible de les reprendre."
    )


class VoucherUnknown(DomainError):
    code = "voucher-unknown"
    status = 422
    title = N_("Bon inconnu")
    detail = N_("Ce code de repas suspendu n'existe pas pour cette cantine.")


class VoucherUsed(Conflict):
    code = "voucher-already-used"
    title = N_("Bon déjà utilisé")
    detail = N_("Ce bon de repas suspendu a déjà été utilisé.")


class VoucherNeedsMain(DomainError):
    code = "voucher-needs-main"
    status = 422
    title = N_("Plat principal ou formule requis")
    detail = N_("Un bon de repas suspendu paie une formule ou un plat : ajoutez-en un.")


class GuestOrderOneMeal(DomainError):
    code = "voucher-order-one-meal"
    status = 422
    title = N_("Un seul repas")
    detail = N_("Sans compte, une commande avec un bon compte exactement un plat ou une formule.")


class VoucherCodeShownOnce(Conflict):
    """A retried voucher creation: the voucher exists, its code was shown once and not kept."""

    code = "voucher-code-shown-once"
    title = N_("Bon déjà créé")
    detail = N_(
        "Ce bon a déjà été créé ; son code n'est montré qu'une fois et n'est pas "
        "conservé. S'il est perdu, annulez le bon finissant par {hint} (le repas revient "
        "dans la réserve) puis créez-en un autre."
    )

    def __init__(self, voucher: dict[str, Any]) -> None:
        super().__init__(
            {"hint": voucher.get("code_hint", "")},
            extra={"voucher_id": voucher.get("id"), "code_hint": voucher.get("code_hint")},
        )
