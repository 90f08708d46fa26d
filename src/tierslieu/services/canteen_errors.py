"""Every refusal of the canteen, each its own problem type (French first)."""

from __future__ import annotations

from typing import Any

from tierslieu import i18n
from tierslieu.errors import Conflict, DomainError

i18n.FIELD_MESSAGES.update(
    {
        "cutoff-after-pickup": {
            "fr": "La limite de commande doit précéder le premier retrait.",
            "en": "The order cutoff must come before the first pickup.",
        },
        "window-not-on-date": {
            "fr": "Le créneau de retrait doit être le jour du service, fin après début.",
            "en": "The pickup window must be on the service date and end after it starts.",
        },
        "nonexistent-local-time": {
            "fr": "Cette heure n'existe pas ce jour-là (changement d'heure).",
            "en": "This time does not exist on that day (daylight-saving change).",
        },
        "unknown-tariff": {
            "fr": "Tarif inconnu dans cette structure : {value}.",
            "en": "Unknown tariff in this structure: {value}.",
        },
        "duplicate": {"fr": "Valeur en double : {value}.", "en": "Duplicate value: {value}."},
    }
)


class NotACanteen(DomainError):
    code = "not-a-canteen"
    status = 422
    messages = {
        "fr": ("Pas une cantine", "Les services de repas ne s'ouvrent que sur une cantine."),
        "en": ("Not a canteen", "Meal services can only be opened on a canteen asset."),
    }


class MealServiceExists(Conflict):
    code = "meal-service-exists"
    messages = {
        "fr": ("Service déjà publié", "Un service existe déjà pour cette cantine ce jour-là."),
        "en": ("Service already published", "This canteen already has a service on that day."),
    }


class OrderCutoffPassed(DomainError):
    code = "order-cutoff-passed"
    status = 422
    messages = {
        "fr": (
            "Commandes closes",
            "Les commandes pour ce service étaient possibles jusqu'au {cutoff}.",
        ),
        "en": ("Orders closed", "Orders for this service were taken until {cutoff}."),
    }


class SoldOut(Conflict):
    code = "sold-out"
    messages = {
        "fr": ("Plat épuisé", "« {item} » : il ne reste que {remaining} portion(s)."),
        "en": ("Sold out", "“{item}”: only {remaining} portion(s) left."),
    }


class PickupWindowFull(Conflict):
    code = "pickup-window-full"
    messages = {
        "fr": ("Créneau complet", "Le créneau de retrait de {starts} est complet."),
        "en": ("Pickup window full", "The {starts} pickup window is full."),
    }


class ItemNotInService(DomainError):
    code = "item-not-in-service"
    status = 422
    messages = {
        "fr": ("Plat hors menu", "Un plat demandé n'est pas au menu de ce service."),
        "en": ("Dish not on the menu", "A requested dish is not on this service's menu."),
    }


class ItemWithdrawn(Conflict):
    code = "item-withdrawn"
    messages = {
        "fr": ("Plat retiré", "« {item} » a été retiré du menu."),
        "en": ("Dish withdrawn", "“{item}” was withdrawn from the menu."),
    }


class PickupWindowNotInService(DomainError):
    code = "pickup-window-not-in-service"
    status = 422
    messages = {
        "fr": ("Créneau inconnu", "Ce créneau de retrait n'appartient pas à ce service."),
        "en": ("Unknown pickup window", "This pickup window does not belong to this service."),
    }


class EmptyOrder(DomainError):
    code = "empty-order"
    status = 422
    messages = {
        "fr": ("Commande vide", "Choisissez au moins un plat."),
        "en": ("Empty order", "Choose at least one dish."),
    }


class OrderTooLarge(DomainError):
    code = "order-too-large"
    status = 422
    messages = {
        "fr": ("Commande trop grande", "Une commande compte au plus {max} portions."),
        "en": ("Order too large", "An order holds at most {max} portions."),
    }


class NoTariff(DomainError):
    code = "no-tariff"
    status = 422
    messages = {
        "fr": ("Aucun tarif", "Aucun tarif de cette structure ne s'applique à vous."),
        "en": ("No tariff", "None of this structure's tariffs applies to you."),
    }


class NoPriceForTariff(DomainError):
    code = "no-price-for-tariff"
    status = 422
    messages = {
        "fr": ("Prix manquant", "« {item} » n'a pas de prix au tarif {tariff}."),
        "en": ("Missing price", "“{item}” has no price at the {tariff} tariff."),
    }


class AlreadyOrdered(Conflict):
    code = "already-ordered"
    messages = {
        "fr": (
            "Déjà commandé",
            "Vous avez déjà une commande pour ce service ; annulez-la pour en passer une autre.",
        ),
        "en": (
            "Already ordered",
            "You already have an order for this service; cancel it to place another one.",
        ),
    }


class TooManyActiveOrders(Conflict):
    code = "too-many-active-orders"
    messages = {
        "fr": ("Trop de commandes", "Vous avez déjà {max} commandes en cours."),
        "en": ("Too many orders", "You already have {max} orders in progress."),
    }


class CancelCutoffPassed(DomainError):
    code = "cancel-cutoff-passed"
    status = 422
    messages = {
        "fr": (
            "Annulation impossible",
            "Après la limite de commande, seule l'équipe de la cantine peut annuler.",
        ),
        "en": ("Too late to cancel", "After the order cutoff only the canteen team can cancel."),
    }


class OrderNotCancellable(Conflict):
    code = "order-not-cancellable"
    messages = {
        "fr": ("Annulation impossible", "Cette commande est {status} : elle ne s'annule plus."),
        "en": ("Cannot cancel", "This order is {status}: it can no longer be cancelled."),
    }


class OrderCancelled(Conflict):
    code = "order-cancelled"
    messages = {
        "fr": ("Commande annulée", "Cette commande a été annulée."),
        "en": ("Order cancelled", "This order was cancelled."),
    }


class ItemHasOrders(Conflict):
    code = "item-has-orders"
    messages = {
        "fr": (
            "Plat déjà commandé",
            "« {item} » a déjà des commandes : on peut seulement ajouter des portions ou le retirer.",
        ),
        "en": (
            "Dish already ordered",
            "“{item}” already has orders: you may only add portions or withdraw it.",
        ),
    }


class TariffDefaultTaken(Conflict):
    code = "tariff-default-taken"
    messages = {
        "fr": (
            "Tarif par défaut déjà pris",
            "Le tarif {other} est déjà le tarif par défaut des « {kind} ».",
        ),
        "en": ("Default tariff taken", "The {other} tariff is already the default for {kind}."),
    }


class UnknownTariff(DomainError):
    code = "unknown-tariff"
    status = 422
    messages = {
        "fr": ("Tarif inconnu", "Le tarif {tariff} n'existe pas dans cette structure."),
        "en": ("Unknown tariff", "The {tariff} tariff does not exist in this structure."),
    }


class SuspendedMealsNotOffered(DomainError):
    code = "suspended-meals-not-offered"
    status = 422
    messages = {
        "fr": (
            "Repas suspendus indisponibles",
            "Cette structure ne propose pas de repas suspendus.",
        ),
        "en": ("No suspended meals", "This structure does not offer suspended meals."),
    }


class PoolEmpty(Conflict):
    code = "suspended-meals-pool-empty"
    messages = {
        "fr": ("Plus de repas suspendus", "La réserve de repas suspendus est vide."),
        "en": ("No suspended meals left", "The pool of suspended meals is empty."),
    }


class PoolAlreadySpent(Conflict):
    code = "suspended-meals-already-given"
    messages = {
        "fr": (
            "Repas suspendus déjà donnés",
            "Les repas suspendus de cette commande ont déjà été donnés : impossible de les reprendre.",
        ),
        "en": (
            "Suspended meals already given",
            "This order's suspended meals were already given away and cannot be taken back.",
        ),
    }


class VoucherUnknown(DomainError):
    code = "voucher-unknown"
    status = 422
    messages = {
        "fr": ("Bon inconnu", "Ce code de repas suspendu n'existe pas pour cette cantine."),
        "en": ("Unknown voucher", "This suspended-meal code does not exist for this canteen."),
    }


class VoucherUsed(Conflict):
    code = "voucher-already-used"
    messages = {
        "fr": ("Bon déjà utilisé", "Ce bon de repas suspendu a déjà été utilisé."),
        "en": ("Voucher already used", "This suspended-meal voucher was already used."),
    }


class VoucherNeedsMain(DomainError):
    code = "voucher-needs-main"
    status = 422
    messages = {
        "fr": (
            "Plat requis",
            "Un bon de repas suspendu paie une formule ou un plat : ajoutez-en un.",
        ),
        "en": (
            "Main course needed",
            "A suspended-meal voucher pays for a formula or a main course.",
        ),
    }


class GuestOrderOneMeal(DomainError):
    code = "voucher-order-one-meal"
    status = 422
    messages = {
        "fr": (
            "Un seul repas",
            "Sans compte, une commande avec un bon compte exactement un plat ou une formule.",
        ),
        "en": (
            "One meal only",
            "Without an account, a voucher order holds exactly one main course or formula.",
        ),
    }


class VoucherCodeShownOnce(Conflict):
    """A retried voucher creation: the voucher exists, its code was shown once and not kept."""

    code = "voucher-code-shown-once"
    messages = {
        "fr": (
            "Bon déjà créé",
            "Ce bon a déjà été créé ; son code n'est montré qu'une fois et n'est pas conservé. "
            "S'il est perdu, annulez le bon finissant par {hint} (le repas revient dans la "
            "réserve) puis créez-en un autre.",
        ),
        "en": (
            "Voucher already created",
            "This voucher was already created; its code is shown once and not kept. "
            "If it was lost, cancel the voucher ending in {hint} (the meal goes back to the "
            "pool) and create another one.",
        ),
    }

    def __init__(self, voucher: dict[str, Any]) -> None:
        super().__init__(
            {"hint": voucher.get("code_hint", "")},
            extra={"voucher_id": voucher.get("id"), "code_hint": voucher.get("code_hint")},
        )
