/**
 * What the chat page says, in English and French: its own words (buttons,
 * labels, banners) and the room's sentences from the catalogues (notices,
 * errors, leave reasons, /help), so that a browser in French reads the same
 * French as `nc`. The page picks the language from `navigator.language`.
 *
 * @module
 */

import { CATALOG_EN } from "./catalog_en.ts";
import { CATALOG_FR } from "./catalog_fr.ts";

/** The page's own words, in English. */
export const PAGE_STRINGS_EN = {
  "page.title": "Chat",
  "page.connecting": "Connecting…",
  "page.name-label": "Your name",
  "page.name-hint":
    "Letters, digits, _ and - (at most 24). Leave it empty to join as a guest.",
  "page.password-label": "Room password",
  "page.password-intro":
    "This room needs a password: the host can tell you. Then choose a name.",
  "page.join": "Join",
  "page.watching":
    "You are watching the room. Choose a name to talk; it is remembered on this device.",
  "page.message-label": "Message",
  "page.message-placeholder": "Type a message or a /command",
  "page.send": "Send",
  "page.people": "People ({count})",
  "page.online": "Online ({count})",
  "page.watchers.one": "and {count} watching",
  "page.watchers.other": "and {count} watching",
  "page.you": "(you)",
  "page.topic": "Topic: {topic}",
  "page.history": "Earlier in the room ({count})",
  "page.history-end": "End of earlier lines",
  "page.dropped": "Connection lost. Reconnecting in {seconds} s…",
  "page.dropped-now": "Connection lost. Reconnecting…",
  "page.stopped": "Disconnected. Press the button to connect again.",
  "page.reconnect": "Reconnect now",
  "page.reconnected": "Connected again.",
  "page.refused": "The server refused the connection: {reason}",
  "page.old-server":
    "This server does not speak the chat protocol this page needs: use the same version of chat as the host.",
  "page.log-label": "Conversation",
  // --- issue 12: code blocks ---
  "page.block.one": "{count} line",
  "page.block.other": "{count} lines",
  "page.compose-hint":
    "Enter sends; Shift+Enter starts a new line: several lines go as one code block.",
  // --- issue 12: files ---
  "page.file-pick": "File…",
  "page.file": '{from} shares "{name}" ({size})',
  "page.file.to": '{from} shares "{name}" with {to} ({size})',
  "page.file-download": "Download",
  "page.file-sending": 'Sending "{name}": {percent}%',
};

/** The page's own words, in French (same keys as the English ones). */
export const PAGE_STRINGS_FR: Record<keyof typeof PAGE_STRINGS_EN, string> = {
  "page.title": "Chat",
  "page.connecting": "Connexion…",
  "page.name-label": "Votre nom",
  "page.name-hint":
    "Lettres, chiffres, _ et - (24 au plus). Laissez vide pour entrer en invité.",
  "page.password-label": "Mot de passe du salon",
  "page.password-intro":
    "Ce salon demande un mot de passe : l'hôte peut vous le donner. Choisissez ensuite un nom.",
  "page.join": "Entrer",
  "page.watching":
    "Vous regardez le salon. Choisissez un nom pour parler ; il est retenu sur cet appareil.",
  "page.message-label": "Message",
  "page.message-placeholder": "Tapez un message ou une /commande",
  "page.send": "Envoyer",
  "page.people": "Personnes ({count})",
  "page.online": "En ligne ({count})",
  "page.watchers.one": "et {count} qui regarde",
  "page.watchers.other": "et {count} qui regardent",
  "page.you": "(vous)",
  "page.topic": "Sujet : {topic}",
  "page.history": "Plus tôt dans le salon ({count})",
  "page.history-end": "Fin des lignes précédentes",
  "page.dropped": "Connexion perdue. Nouvel essai dans {seconds} s…",
  "page.dropped-now": "Connexion perdue. Nouvel essai…",
  "page.stopped": "Déconnecté. Appuyez sur le bouton pour vous reconnecter.",
  "page.reconnect": "Se reconnecter",
  "page.reconnected": "De nouveau connecté.",
  "page.refused": "Le serveur a refusé la connexion : {reason}",
  "page.old-server":
    "Ce serveur ne parle pas le protocole de chat dont cette page a besoin : utilisez la même version de chat que l'hôte.",
  "page.log-label": "Conversation",
  // --- issue 12: code blocks ---
  "page.block.one": "{count} ligne",
  "page.block.other": "{count} lignes",
  "page.compose-hint":
    "Entrée envoie ; Maj+Entrée commence une nouvelle ligne : plusieurs lignes partent en un bloc de code.",
  // --- issue 12: files ---
  "page.file-pick": "Fichier…",
  "page.file": "{from} partage « {name} » ({size})",
  "page.file.to": "{from} partage « {name} » avec {to} ({size})",
  "page.file-download": "Télécharger",
  "page.file-sending": "Envoi de « {name} » : {percent} %",
};

/**
 * The catalogue keys the page uses to say what the room says: the room's
 * section of the catalogues (and any notice or error added later).
 */
const ROOM_KEY =
  /^(?:private\.|joined$|left|renamed$|topic\.|welcome|who|help\.|pong$|shutdown$|disconnected|error|reason\.|notice\.|name\.|usage\.|command\.)/;

/** The room's sentences from one catalogue. */
function roomStrings(
  catalogue: Readonly<Record<string, string>>,
): Record<string, string> {
  return Object.fromEntries(
    Object.entries(catalogue).filter(([key]) => ROOM_KEY.test(key)),
  );
}

/**
 * Everything the page says, by language, as it is embedded in the page's
 * script.
 *
 * @example
 * ```ts
 * import { pageStrings } from "./web_strings.ts";
 * pageStrings().fr["page.send"]; // "Envoyer"
 * pageStrings().en["joined"]; // "{name} joined"
 * ```
 */
export function pageStrings(): {
  en: Record<string, string>;
  fr: Record<string, string>;
} {
  return {
    en: { ...roomStrings(CATALOG_EN), ...PAGE_STRINGS_EN },
    fr: { ...roomStrings(CATALOG_FR), ...PAGE_STRINGS_FR },
  };
}
