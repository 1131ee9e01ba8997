/**
 * Every sentence the program says, in French: the same keys and the same
 * `{placeholders}` as `catalog_en.ts`. Commands keep their names (`/nick`,
 * `/msg`, ...); everything around them is French.
 *
 * @module
 */

import type { MessageKey } from "./catalog_en.ts";

export const CATALOG_FR: Readonly<Record<MessageKey, string>> = {
  // --- the room, as plain-text clients read it (lib/render_text.ts) -------
  "private.prefix": "[privé]",
  "joined": "{name} a rejoint le salon",
  "left": "{name} a quitté le salon",
  "left.reason": "{name} a quitté le salon ({reason})",
  "renamed": "{from} s'appelle désormais {to}",
  "topic.set": "{by} a changé le sujet : {topic}",
  "topic.is": "Sujet : {topic}",
  "topic.none": "Aucun sujet n'est défini.",
  "welcome": "Bienvenue, {name} ! En ligne ({count}) : {names}.",
  "welcome.topic": " Sujet : {topic}.",
  "welcome.end":
    " Tapez /help pour la liste des commandes, /nick NOM pour changer de nom.",
  "who": "En ligne ({count}) : {names}",
  "who.watchers.one": " ; {count} spectateur",
  "who.watchers.other": " ; {count} spectateurs",
  "who.address": "{name} ({address})",
  "help.title": "Commandes :",
  "help.footer":
    "Une ligne qui ne contient que « stop » fait aussi quitter. Commencez une ligne par // pour envoyer un message qui commence par /.",
  "help.footer.host":
    "Dans cette console, /stop arrête le salon pour tout le monde (Ctrl-C aussi) ; « stop » et /quit ne l'arrêtent pas. Commencez une ligne par // pour envoyer un message qui commence par /.",
  "help.blocks":
    "Une ligne qui ne contient que ``` (ou ```py, ```js ...) commence un bloc de code ; tout jusqu'à la ligne ``` suivante part en un seul message.",
  "pong": "pong",
  "shutdown": "le serveur s'arrête",
  "disconnected": "Vous avez été déconnecté : {reason}.",
  "error": "erreur : {text}",
  "reason.kicked": "expulsé par l'hôte",
  "reason.banned": "banni par l'hôte",
  "reason.flooding": "trop de messages",
  "reason.too-slow": "trop lent",
  "reason.timed-out": "plus de nouvelles",
  "reason.connection-lost": "connexion perdue",
  "reason.room-full": "salon plein",
  "disconnected.kicked": "expulsé par l'hôte",
  "disconnected.banned": "banni par l'hôte",
  "disconnected.flooding": "trop de messages envoyés trop vite",
  "disconnected.too-slow": "trop lent à suivre la conversation",
  "disconnected.timed-out": "plus de nouvelles de votre part",
  "disconnected.connection-lost": "connexion perdue",
  "disconnected.room-full":
    "le salon est plein et vous n'aviez rien envoyé depuis un moment : un nouveau venu a pris votre place. Reconnectez-vous et envoyez une ligne pour entrer",
  "notice.greeting":
    "Bonjour ! Vous regardez le salon. Envoyez /nick NOM pour le rejoindre sous un nom, ou tapez un message pour le rejoindre en invité.",
  "notice.password-needed":
    "Ce salon demande un mot de passe : envoyez /pass MOT_DE_PASSE",
  "notice.password-accepted":
    "Mot de passe accepté. Envoyez /nick NOM pour rejoindre le salon sous un nom, ou tapez un message pour le rejoindre en invité.",
  "notice.no-password": "Ce salon n'a pas de mot de passe.",
  "notice.bye": "Au revoir !",
  "notice.muted": "{name} a été rendu muet par l'hôte",
  "notice.unmuted": "{name} peut de nouveau parler",
  "notice.address-banned": "{address} est banni jusqu'à l'arrêt du serveur.",
  "notice.password-lockout":
    "{address} a donné {failures} mauvais mots de passe : aucun mot de passe venant de cette adresse n'est essayé pendant {seconds} s.",
  "notice.password-room-lockout":
    "{failures} mauvais mots de passe dans la dernière minute : aucun mot de passe n'est essayé, pour personne, pendant {seconds} s.",
  "notice.stop-confirm":
    "Personnes connectées à part vous : {count}. Tapez de nouveau /stop dans les {seconds} s pour arrêter le salon pour tout le monde.",
  "notice.how-to-stop":
    "« {typed} » n'arrête pas le salon depuis la console de l'hôte, et rien n'a été envoyé : /stop l'arrête, pour tout le monde.",
  "error.unknown-command":
    "commande inconnue « /{command} ». Tapez /help pour la liste.",
  "error.usage": "utilisation : /{command} {usage}",
  "error.name-invalid":
    "impossible de prendre « {name} » comme nom : {problem}.",
  "error.name-taken": "le nom « {name} » est déjà pris. Essayez-en un autre.",
  "error.name-reserved":
    "le nom « {name} » est réservé à l'hôte. Essayez-en un autre.",
  "error.same-name": "vous vous appelez déjà {name}.",
  "error.no-such-name": "personne ne s'appelle « {name} » ici. Essayez /who.",
  "error.password-first":
    "ce salon demande un mot de passe : envoyez d'abord /pass MOT_DE_PASSE.",
  "error.wrong-password": "mot de passe incorrect.",
  "error.password-timeout":
    "aucun mot de passe reçu dans les {seconds} s après la connexion ; fermeture.",
  "error.password-locked":
    "trop de mauvais mots de passe : réessayez dans {seconds} s.",
  "error.flooding":
    "doucement : au plus {burst} lignes d'un coup, puis {rate} par seconde. Les lignes envoyées plus vite ne sont pas transmises.",
  "error.muted":
    "l'hôte vous a rendu muet : rien de ce que vous envoyez n'est transmis.",
  "error.host-only-topic": "seul l'hôte peut changer le sujet.",
  "error.cannot-moderate-host": "impossible d'appliquer /{command} à l'hôte.",
  "error.no-address": "{name} n'a pas d'adresse.",
  "error.already-muted": "{name} est déjà muet.",
  "error.not-muted": "{name} n'est pas muet.",
  "error.line-too-long":
    "ligne trop longue (plus de {limit} octets) ; elle n'a pas été envoyée.",
  "error.full.one": "le serveur est plein ({max} client). Réessayez plus tard.",
  "error.full.other":
    "le serveur est plein ({max} clients). Réessayez plus tard.",
  "error.too-many-connections":
    "trop de connexions depuis votre adresse (au plus {limit}). Fermez-en une et réessayez.",
  "error.banned": "vous êtes banni de ce salon.",
  "error.internal-error":
    "le serveur a rencontré un bogue en traitant cette ligne (il est noté sur le serveur) ; elle n'a peut-être pas été transmise.",
  "error.bad-json":
    "cette ligne n'est pas un objet JSON ; envoyez un objet par ligne, ou du texte simple.",
  "error.unknown-type":
    "type de message inconnu « {type} » ; rien n'a été fait. Voir docs/PROTOCOL.md.",
  "error.unknown-field":
    "champ inconnu « {field} » ; rien n'a été fait. Voir docs/PROTOCOL.md.",
  "error.bad-field":
    "le champ « {field} » manque ou n'a pas le bon type ; rien n'a été fait.",
  "error.protocol-version":
    "la version {asked} du protocole n'est pas parlée ici ; ce serveur parle la version {supported}.",
  "name.empty": "un nom doit avoir au moins un caractère",
  "name.too-long": "un nom a au plus {max} caractères",
  "name.characters":
    "un nom ne peut contenir que des lettres de l'alphabet latin, accentuées ou non (é, ç, ø...), des chiffres, _ et -",
  "name.start": "un nom commence par une lettre ou un chiffre",
  "usage.nick": "NOM",
  "usage.who": "",
  "usage.me": "TEXTE",
  "usage.msg": "NOM TEXTE",
  "usage.help": "",
  "usage.quit": "",
  "usage.topic": "[TEXTE]",
  "usage.kick": "NOM",
  "usage.ban": "NOM",
  "usage.mute": "NOM",
  "usage.unmute": "NOM",
  "usage.stop": "",
  "command.nick":
    "changer de nom (lettres, chiffres, _ et - ; 24 caractères au plus)",
  "command.who": "voir qui est en ligne",
  "command.me": "décrire une action : /me salue affiche * NOM salue",
  "command.msg": "envoyer un message privé que seul NOM voit",
  "command.help": "afficher cette liste",
  "command.quit": "quitter le salon",
  "command.topic": "afficher le sujet (l'hôte peut le changer)",
  "command.kick": "déconnecter NOM",
  "command.ban":
    "déconnecter NOM et refuser son adresse jusqu'à l'arrêt du serveur (ou une plage : /ban 192.168.1.0/28)",
  "command.mute": "empêcher les lignes de NOM d'arriver à quiconque",
  "command.unmute": "rendre la parole à NOM",
  "command.stop": "arrêter le serveur pour tout le monde",

  // --- the server's own messages (lib/server.ts, main.ts) -----------------
  "listen.in-use": "Le port {port} est déjà utilisé. Essayez --port {next}.",
  "listen.not-local":
    "Impossible d'écouter sur {host} : ce n'est pas une adresse de cette machine. Essayez --host 0.0.0.0.",
  "listen.denied":
    "Pas le droit d'écouter sur {where}. Les ports sous 1024 demandent les droits d'administrateur ; essayez --port 5000.",
  "listen.key-mismatch":
    "La clé TLS ne correspond pas au certificat : vérifiez --tls-cert et --tls-key.",
  "listen.bad-certificate":
    "Impossible d'utiliser le certificat ou la clé TLS : {message}",
  "listen.other": "Impossible d'écouter sur {where} : {message}",
  "server.bug":
    "Bogue de chat (merci de le signaler), avec la connexion de {address} : {message}. Le salon continue ; cette erreur n'est notée qu'une fois.",
  "server.bug.console":
    "Bogue de chat (merci de le signaler), dans la console : {message}. Le salon continue ; cette erreur n'est notée qu'une fois.",

  // --- the command line (lib/cli.ts, main.ts) ----------------------------
  "cli.help.main": `chat : un salon de discussion pour tout le réseau local

Utilisation :
  chat serve [options]            ouvrir un salon sur cet ordinateur
  chat connect <hôte>[:port]      rejoindre un salon
  chat connect [SALON]            rejoindre un salon trouvé sur le réseau
  chat list                       lister les salons du réseau local
  chat --help | --version

Lancez « chat serve --help » ou « chat connect --help » pour leurs options.
Sans chat, on peut rejoindre un salon avec : nc <hôte> <port>  (ou telnet)
Langue : --lang fr|en, sinon LC_ALL, LC_MESSAGES ou LANG (fr... : français).`,
  "cli.help.serve": `Utilisation : chat serve [options]

Ouvre un salon de discussion et affiche les commandes que vos camarades
peuvent taper pour le rejoindre. Tapez dans la console pour discuter en tant
qu'hôte ; /stop ou Ctrl-C ferme le salon (quand des personnes sont connectées,
/stop demande d'être retapé dans les {stopConfirm} s).

Options :
  --host ADRESSE      adresse d'écoute (par défaut 0.0.0.0 : tous les réseaux)
  --port PORT         port d'écoute, 0 pour n'importe quel port libre
                      (par défaut {port})
  --name NOM          votre nom dans le salon (par défaut host)
  --password          demander un mot de passe pour le salon (ou le prendre
                      dans CHAT_PASSWORD) ; les nouveaux venus doivent
                      d'abord envoyer /pass MOT_DE_PASSE
  --tls               chiffrer, avec le certificat propre à chat, créé une fois
                      et gardé dans ~/.config/chat (ou $XDG_CONFIG_HOME/chat) :
                      la même empreinte à chaque démarrage, pour chat connect
  --tls-new           chiffrer, avec un nouveau certificat, gardé à la place
  --tls-cert FICHIER  chiffrer avec ce certificat (PEM) ...
  --tls-key FICHIER   ... et sa clé privée (PEM)
  --lang fr|en        langue de cette console et du salon pour nc et telnet
                      (par défaut : selon LC_ALL, LC_MESSAGES ou LANG)
  --history N         lignes publiques précédentes montrées à chaque nouveau
                      venu, gardées en mémoire (par défaut {history} ; 0 :
                      aucune)
  --log FICHIER       ajouter à FICHIER les lignes publiques du salon, les
                      arrivées, les départs et les sujets, chacun après son
                      heure (ISO 8601)
  -h, --help          afficher cette aide

Limites (0 supprime une limite, sauf pour --flood-burst, --max-line-bytes et
--queue-kib) :
  --max-clients N     personnes connectées à la fois, au plus
                      (par défaut {maxClients})
  --max-per-ip N      connexions depuis une même adresse, au plus
                      (par défaut {maxPerAddress})
  --handshake-timeout SECONDES
                      délai pour envoyer le mot de passe du salon après la
                      connexion, et avec --tls pour finir la poignée de main
                      TLS (par défaut {handshakeTimeout} ; 0 le garde pour
                      la poignée de main)
  --heartbeat-timeout SECONDES
                      déconnecter un client chat resté muet aussi longtemps
                      (par défaut {heartbeatTimeout})
  --flood-burst N     lignes que chacun peut envoyer d'un coup
                      (par défaut {floodBurst})
  --flood-rate N      lignes par seconde ensuite (par défaut {floodRate})
  --flood-disconnect N
                      lignes refusées d'affilée qui déconnectent l'expéditeur
                      (par défaut {floodDisconnect})
  --room-rate N       lignes par seconde acceptées par tout le salon, les plus
                      gros expéditeurs refusés d'abord ; 0 : sans plafond
                      (par défaut {roomRate})
  --max-line-bytes N  ligne la plus longue qu'un client peut envoyer, de 1 à
                      {longestLine} octets (par défaut {maxLineBytes})
  --queue-kib N       Kio en attente pour un client avant qu'il soit
                      déconnecté comme trop lent (par défaut {queueKib})
  --password-delay SECONDES
                      attente avant de refuser un mauvais mot de passe
                      (par défaut {passwordDelay})
  --password-tries N  mauvais mots de passe d'une même adresse avant qu'elle
                      soit bloquée 5 s, puis 10 s, 20 s ... jusqu'à 15 min
                      (par défaut {passwordTries} ; le salon en accepte au
                      plus {roomPasswordTries} par minute ; 0 : aucun blocage)

Commandes de l'hôte dans la console : /kick /ban /mute /unmute NOM,
/topic TEXTE.`,
  "cli.help.connect": `Utilisation : chat connect <hôte>[:port] [options]

Rejoint le salon de discussion de <hôte>, par exemple chat connect 192.168.1.23

Options :
  --port PORT         port du salon (par défaut {port})
  --name NOM          votre nom (par défaut : votre nom de connexion)
  --tls               chiffrer ; un serveur encore inconnu montre son empreinte
                      et demande (dans un terminal), puis il est retenu dans
                      ~/.config/chat/known_hosts : un certificat changé est refusé
  --ca FICHIER        chiffrer ; le certificat doit être signé par cette
                      autorité de certification (PEM)
  --fingerprint SHA256
                      chiffrer, en n'acceptant que le certificat qui a cette
                      empreinte (affichée par chat serve --tls)
  --lang fr|en        langue de tout ce qui s'affiche (par défaut : selon
                      LC_ALL, LC_MESSAGES ou LANG)
  --no-reconnect      s'arrêter quand la connexion coupe, au lieu de se
                      reconnecter (après 1, 2, 4 ... jusqu'à {backoff} s)
  --quiet             pas de sonnerie quand votre nom est cité ou qu'un
                      message privé arrive (la ligne reste en évidence)
  --log FICHIER       ajouter ce que vous voyez (messages privés compris)
                      à FICHIER
  -h, --help          afficher cette aide

Un salon protégé par un mot de passe le demande (ou le prend dans
CHAT_PASSWORD). Pendant une reconnexion, jusqu'à {outbox} lignes tapées
sont gardées et envoyées au retour.

Dans le salon : /help liste les commandes ; /quit, stop, Ctrl-C ou Ctrl-D
pour partir.`,
  "cli.unknown-command":
    "Commande inconnue « {command} ». Utilisez « chat serve » ou « chat connect <hôte> ».",
  "cli.unknown-top-option":
    "Option inconnue « {option} ». Lancez « chat --help » pour voir l'utilisation.",
  "cli.unknown-option":
    "Option inconnue « {option} » pour « chat {command} ». Lancez « chat {command} --help ».",
  "cli.option-takes-no-value": "L'option « {option} » ne prend pas de valeur.",
  "cli.option-dash-value":
    "L'option « {option} » a reçu une valeur qui commence par « - » : écrivez {option}=VALEUR.",
  "cli.option-needs-value":
    "L'option « {option} » demande une valeur, par exemple {option} {example}.",
  "cli.value": "VALEUR",
  "cli.bad-lang": "Langue inconnue « {lang} » pour --lang : utilisez fr ou en.",
  "cli.bad-name": "Impossible de prendre « {name} » comme nom : {problem}.",
  "cli.bad-port":
    "Port invalide « {port} » : utilisez un nombre de {min} à 65535.",
  "cli.bad-count":
    "Valeur invalide « {value} » pour {option} : utilisez un nombre entier d'au moins {min}.",
  "cli.bad-range":
    "Valeur invalide « {value} » pour {option} : utilisez un nombre entier de {min} à {max}.",
  "cli.bad-address":
    "Adresse invalide « {address} » : utilisez un nom d'hôte ou une adresse IP, par exemple 192.168.1.23.",
  "cli.serve-no-arguments":
    "« chat serve » ne prend pas d'argument, reçu « {argument} ». Lancez « chat serve --help ».",
  "cli.tls-cert-and-key":
    "--tls-cert et --tls-key vont ensemble : donnez le certificat et sa clé.",
  "cli.connect-no-address":
    "Il manque l'adresse du serveur, par exemple « chat connect 192.168.1.23 ».",
  "cli.connect-addresses":
    "« chat connect » prend une seule adresse, reçu {count} : {addresses}.",
  "cli.connect-port-twice":
    "Le port est donné deux fois (« {address} » et --port). Donnez-le une seule fois.",
  "cli.fingerprint-and-ca":
    "Donnez --fingerprint ou --ca, pas les deux : l'empreinte désigne déjà le seul certificat à accepter.",
  "cli.bad-fingerprint":
    "Empreinte invalide « {fingerprint} » : copiez les 64 chiffres hexadécimaux affichés par « chat serve --tls » (les deux-points sont facultatifs).",
  "cli.listening": "Écoute sur {address}",
  "cli.encrypted": "Chiffré (TLS). Empreinte du certificat (SHA-256) :",
  "cli.password-needed":
    "Les nouveaux venus doivent donner le mot de passe du salon.",
  "cli.join-with": "Vos camarades peuvent se connecter avec :",
  "cli.join-local-only":
    "Aucune adresse réseau trouvée : seul cet ordinateur peut se connecter, avec :",
  "cli.join-loopback":
    "Seul cet ordinateur peut se connecter : {host} n'est joignable que depuis cet ordinateur (--host 0.0.0.0 ouvre le salon à vos camarades). Connexion avec :",
  "cli.join-from-clone": "(ou depuis une copie de chat : {command})",
  "cli.join-without-chat": "(ou sans chat : {command})",
  "cli.join-without-chat.password":
    "(ou sans chat : {command}, puis envoyez /pass MOT_DE_PASSE)",
  "cli.console-hint":
    "Tapez ici pour discuter en tant qu'hôte ; /help liste les commandes, /stop arrête le salon.",
  "cli.stopped": "Serveur arrêté.",
  "cli.console-ended.terminal":
    "Ctrl-D : cette console ne lit plus ce que vous tapez, et le salon continue. Arrêtez-le avec Ctrl-C, ou avec : kill {pid}",
  "cli.console-ended":
    "L'entrée de la console est terminée : le salon continue sans console. Arrêtez-le avec : kill {pid}",
  "cli.console-skipped.one":
    "[1 ligne non affichée : la console ne suivait pas]",
  "cli.console-skipped.other":
    "[{count} lignes non affichées : la console ne suivait pas]",
  "cli.password-prompt": "Mot de passe du salon : ",
  "cli.password-again": "Répétez le mot de passe : ",
  "cli.password-no-terminal":
    "--password demande un terminal pour taper le mot de passe, ou le mot de passe dans CHAT_PASSWORD.",
  "cli.password-empty": "Le mot de passe du salon ne peut pas être vide.",
  "cli.password-differ": "Les deux mots de passe sont différents.",
  "cli.password-try-again": "Recommencez (essai {attempt} sur {max}).",
  "cli.password-gave-up":
    "Pas de mot de passe après {max} essais ; le salon n'a pas été ouvert.",
  "cli.password-cancelled":
    "Aucun mot de passe tapé ; le salon n'a pas été ouvert.",
  "cli.unexpected-error": "erreur inattendue : {message}",

  // --- TLS (lib/tls.ts) ----------------------------------------------------
  "tls.not-pem":
    "Ce n'est pas un certificat PEM : il n'a pas de bloc « -----BEGIN CERTIFICATE----- » lisible.",
  "tls.file.certificate": "fichier de certificat",
  "tls.file.key": "fichier de clé",
  "tls.file.ca": "fichier d'autorité de certification",
  "tls.cannot-read": "Impossible de lire le {what} « {path} » : {reason}.",
  "tls.reason.not-found": "ce fichier n'existe pas",
  "tls.reason.directory": "c'est un dossier",
  "tls.reason.denied": "permission refusée",
  "tls.reason.not-allowed":
    "chat n'a pas le droit de lire des fichiers (il lui faut --allow-read)",
  "tls.cert.holds-key":
    "Le {what} « {path} » contient une clé privée, pas un certificat. Avez-vous inversé --tls-cert et --tls-key ?",
  "tls.cert.not-pem":
    "Le {what} « {path} » n'est pas un certificat PEM : il n'a pas de bloc « -----BEGIN CERTIFICATE----- ».",
  "tls.cert.damaged":
    "Le {what} « {path} » contient un bloc de certificat abîmé (son base64 ne se décode pas).",
  "tls.key.encrypted":
    "Le fichier de clé « {path} » est protégé par un mot de passe, que chat ne peut pas utiliser. Enregistrez-le sans mot de passe : openssl pkey -in {path} -out plain-key.pem",
  "tls.key.holds-certificate":
    "Le fichier de clé « {path} » contient un certificat, pas une clé privée. Avez-vous inversé --tls-cert et --tls-key ?",
  "tls.key.not-pem":
    "Le fichier de clé « {path} » n'est pas une clé privée PEM : il n'a pas de bloc « -----BEGIN PRIVATE KEY----- ».",
  "tls.key.damaged":
    "Le fichier de clé « {path} » contient un bloc de clé abîmé (son base64 ne se décode pas).",
  "tls.key.unsupported":
    "chat ne sait pas signer un certificat avec la clé de « {path} » : il lit les clés RSA, ECDSA (P-256, P-384, P-521) et Ed25519. Faites-en une comme l'indique le README.",
  "tls.cert.version-1":
    "Le fichier de certificat « {path} » contient un certificat X.509 de version 1, que TLS ne peut pas utiliser. Faites-en un comme l'indique le README.",
  "tls.not-tls":
    "Le serveur {where} n'a pas répondu en TLS ; a-t-il été lancé avec --tls ?",
  "tls.failed":
    "La connexion TLS avec le serveur {where} a échoué ({message}). Vérifiez que c'est un serveur chat lancé avec --tls, de la même version que le vôtre.",
  "tls.handshake-timeout":
    "Le serveur {where} n'a pas terminé la négociation TLS en {seconds} s ; a-t-il été lancé avec --tls ?",
  "tls.no-certificate":
    "Le serveur {where} n'a envoyé aucun certificat ; est-ce un serveur chat lancé avec --tls ?",
  "tls.bad-fingerprint":
    "Empreinte invalide « {fingerprint} » : donnez les 64 chiffres hexadécimaux (SHA-256) affichés par « chat serve --tls ».",
  "tls.mismatch":
    "Le certificat du serveur {where} ne correspond pas à l'empreinte : attendue {expected}, reçue {actual}. Il peut s'agir d'une machine qui s'intercale, d'un autre serveur, ou d'un serveur redémarré avec un nouveau certificat ; rien n'a été envoyé.",
  "tls.unreadable":
    "Le certificat du serveur {where} correspond à l'empreinte mais chat ne sait pas le lire ; rien n'a été envoyé. Demandez à l'hôte un certificat fait comme l'indique le README.",
  "tls.no-name":
    "Le certificat du serveur {where} correspond à l'empreinte mais ne nomme aucun hôte (pas de subjectAltName), donc chat ne peut pas vérifier que le serveur détient sa clé ; rien n'a été envoyé. Utilisez « chat serve --tls », ou un certificat avec un subjectAltName.",
  "tls.key-not-proven":
    "Le serveur {where} a montré le certificat d'empreinte {expected}, puis a refusé de prouver qu'il détient sa clé ou en a montré un autre ({message}). Il peut s'agir d'une machine qui s'intercale ; rien n'a été envoyé.",
  "tls.hint.no-ca":
    "Donnez le certificat du serveur (ou celui de son autorité) avec --ca FICHIER, ou utilisez --fingerprint avec l'empreinte affichée par le serveur.",
  "tls.hint.ca":
    "Il n'est pas signé par le certificat de « {file} ». Vérifiez ce fichier, ou utilisez --fingerprint avec l'empreinte affichée par le serveur.",
  "tls.self-signed":
    "Le serveur {where} utilise un certificat auto-signé, auquel cet ordinateur ne fait pas confiance. {hint}",
  "tls.untrusted":
    "Le certificat du serveur {where} n'est pas émis par une autorité à laquelle cet ordinateur fait confiance. {hint}",
  "tls.wrong-name":
    "Le certificat du serveur {where} n'est pas valable pour le nom « {hostname} »{holds}. Connectez-vous avec un nom qu'il contient, ou utilisez --fingerprint.",
  "tls.wrong-name.holds": " (il est pour {names})",
  "tls.expired":
    "Le certificat du serveur {where} a expiré ou n'est pas encore valable. Vérifiez la date et l'heure sur les deux ordinateurs ; s'il a expiré, le serveur a besoin d'un nouveau certificat.",
  "tls.refused":
    "Le certificat du serveur {where} a été refusé ({message}). Demandez à l'hôte un certificat fait comme l'indique le README.",
  "tls.unusable":
    "Le certificat du serveur {where} ne peut pas être celui d'un serveur TLS : {problem}. L'hôte doit utiliser la même version de chat que vous, qui sert un tel certificat sous un certificat à elle, ou faire un certificat comme l'indique le README.",
  "tls.pinned-unusable":
    "Le certificat du serveur {where} correspond à l'empreinte, mais TLS le refuse comme certificat de serveur : {problem} ; rien n'a été envoyé. L'hôte doit utiliser la même version de chat que vous, qui sert un tel certificat sous un certificat à elle, ou faire un certificat comme l'indique le README.",
  "tls.pinned-expired":
    "Le certificat du serveur {where} correspond à l'empreinte mais n'est valable que du {from} au {to} ; rien n'a été envoyé. Vérifiez la date et l'heure sur les deux ordinateurs ; s'il a expiré, l'hôte a besoin d'un nouveau certificat.",
  "tls.problem.ca":
    "il se dit certificat d'autorité de certification (basicConstraints CA:TRUE)",
  "tls.problem.not-for-servers":
    "son usage étendu de clé n'autorise pas les serveurs TLS (pas de serverAuth)",
  "tls.problem.version-1":
    "c'est un certificat X.509 de version 1, sans extensions",
  "tls.problem.critical-extension":
    "il a une extension critique que TLS ne connaît pas",
  "tls.problem.algorithm":
    "son algorithme de clé ou de signature n'est pas accepté par TLS",
  // --- chat connect (lib/client.ts, lib/terminal.ts) ----------------------
  "client.cannot-reach.refused":
    "Impossible de joindre {where} : connexion refusée. « chat serve » tourne-t-il bien là-bas, sur le port {port} ?",
  "client.cannot-find-host":
    "Hôte « {host} » introuvable : aucune machine de ce nom sur ce réseau. Vérifiez l'adresse affichée par le serveur.",
  "client.cannot-reach.timeout":
    "Impossible de joindre {where} : pas de réponse après {seconds} s. Êtes-vous sur le même réseau ?",
  "client.cannot-reach.unreachable":
    "Impossible de joindre {where} : réseau inaccessible. Êtes-vous connecté au réseau ?",
  "client.cannot-reach.other": "Impossible de joindre {where} : {message}",
  "client.silent":
    "Le serveur {where} n'a rien dit pendant {seconds} s. Est-ce bien « chat serve » qui tourne sur le port {port} ?",
  "client.silent.tls-hint":
    " S'il a été lancé avec --tls, ajoutez --fingerprint ou --tls.",
  "client.no-proto-answer":
    "Le serveur {where} n'a pas répondu à « /proto {version} » en {seconds} s. Est-ce bien « chat serve » qui tourne sur le port {port} ?",
  "client.closed.before-greeting":
    "Le serveur {where} a fermé la connexion sans rien dire.",
  "client.closed.before-proto":
    "Le serveur {where} a fermé la connexion avant que la discussion ne commence.",
  "client.closed.after-password":
    "Le serveur {where} a fermé la connexion après le mot de passe.",
  "client.refused.connection":
    "Le serveur {where} a refusé la connexion : {reason}",
  "client.refused.password":
    "Le serveur {where} a refusé le mot de passe : {reason}",
  "client.refused.name": "Le serveur a refusé le nom « {name} » : {reason}",
  "client.older-server":
    "Le serveur {where} est une version plus ancienne de chat, qui ne parle pas le protocole structuré. Utilisez la même version de chat que l'hôte.",
  "client.protocol-version":
    "Le serveur {where} parle la version {theirs} du protocole de chat, et ce chat connect la version {ours}. Utilisez la même version de chat que l'hôte.",
  "client.password-prompt": "Mot de passe du salon sur {where} : ",
  "client.password-retry":
    "Mot de passe incorrect. Réessayez (essai {attempt} sur {max}).",
  "client.ask-name":
    "Tapez le nom que vous voulez puis Entrée, ou seulement Entrée pour entrer en invité.",
  "client.password-needed":
    "Le salon sur {where} demande un mot de passe : lancez chat connect dans un terminal pour le taper, ou définissez CHAT_PASSWORD.",
  "client.disconnected": "Déconnecté de {where} : {why}.",
  "client.why.shutdown": "le serveur s'est arrêté",
  "client.why.silent": "le serveur ne répond plus (rien depuis {seconds} s)",
  "client.why.closed": "le serveur a fermé la connexion",

  // --- issue 9: the room and the server ---
  "notice.history-start": "Plus tôt dans le salon ({count} lignes) :",
  "notice.history-start.one": "Plus tôt dans le salon ({count} ligne) :",
  "notice.history-end": "Fin des lignes précédentes.",
  "error.name-away":
    "le nom « {name} » appartient à quelqu'un dont la connexion a coupé ; il lui est gardé encore {seconds} s. Essayez-en un autre.",
  "error.resume-failed":
    "le nom « {name} » ne vous est pas gardé (le délai est passé, ou le serveur a redémarré). Rejoignez avec /nick NOM.",
  "usage.history": "",
  "command.history": "réafficher les lignes précédentes du salon",
  "transcript.cannot-open":
    "impossible d'écrire la transcription « {path} » : {reason}.",
  "transcript.write-failed":
    "l'écriture de la transcription « {path} » a échoué ({reason}) ; plus rien n'y est écrit.",
  "transcript.reason.denied": "permission refusée",
  "transcript.reason.no-folder": "son dossier n'existe pas",
  "transcript.reason.folder": "c'est un dossier",
  "transcript.writing": "Les lignes publiques du salon sont ajoutées à {path}.",
  // --- issue 9: TLS identity ---
  // Le dossier de réglages de chat (lib/config_dir.ts).
  "config.no-home":
    "chat n'a pas de dossier de réglages où garder son certificat TLS et les serveurs connus : HOME n'est pas défini. Définissez HOME ou XDG_CONFIG_HOME.",
  "config.no-appdata":
    "chat n'a pas de dossier de réglages où garder son certificat TLS et les serveurs connus : APPDATA n'est pas défini. Définissez APPDATA.",
  "config.cannot-create":
    "Impossible de créer le dossier de réglages de chat « {path} » : {reason}. Donnez à XDG_CONFIG_HOME un dossier où vous pouvez écrire.",
  "config.cannot-read": "Impossible de lire « {path} » : {reason}.",
  "config.cannot-write": "Impossible d'écrire « {path} » : {reason}.",
  "config.not-a-folder":
    "« {path} » devrait être le dossier de réglages de chat mais n'est pas un dossier. Déplacez-le, ou donnez un autre dossier à XDG_CONFIG_HOME.",
  "config.not-a-file":
    "« {path} » devrait être un fichier des réglages de chat mais n'est pas un fichier. Déplacez-le.",
  "config.reason.not-allowed":
    "chat n'a pas le droit d'écrire des fichiers (il lui faut --allow-write)",
  "config.reason.not-a-folder": "une partie du chemin n'est pas un dossier",
  "config.reason.read-only": "le disque est en lecture seule",
  "config.loose-folder":
    "Le dossier de réglages de chat « {path} » peut être modifié par d'autres utilisateurs (mode {mode}) : ils pourraient remplacer son certificat ou les serveurs auxquels il fait confiance. Si ce n'est pas voulu, vérifiez ses fichiers, puis : chmod 700 {path}",
  "config.loose-file":
    "« {path} » peut être modifié par d'autres utilisateurs (mode {mode}) : ils pourraient remplacer ce à quoi chat fait confiance. Vérifiez-le, puis : chmod 600 {path}",
  "config.loose-key":
    "La clé TLS « {path} » peut être lue par d'autres utilisateurs (mode {mode}) : quiconque l'a copiée peut se faire passer pour ce serveur. Créez-en une nouvelle avec chat serve --tls-new (les participants acceptent alors une fois la nouvelle empreinte), ou, si vous êtes sûr que personne ne l'a copiée : chmod 600 {path}",
  // chat serve --tls, --tls-new (lib/tls_identity.ts, main.ts).
  "identity.kept":
    "(la même à chaque démarrage : gardée dans {dir} ; --tls-new en crée une nouvelle)",
  "identity.made":
    "(nouvelle : gardée dans {dir} pour les prochains démarrages ; --tls-new en crée une nouvelle)",
  "identity.new-and-cert":
    "--tls-new crée un nouveau certificat propre à chat : il va avec --tls, pas avec --tls-cert et --tls-key.",
  "identity.damaged":
    "Le certificat TLS gardé dans « {dir} » est inutilisable : {problem}. Démarrez avec --tls-new pour en créer un nouveau (les participants acceptent alors une fois la nouvelle empreinte).",
  "identity.problem.missing": "{file} manque",
  "identity.problem.certificate": "{file} ne contient aucun certificat lisible",
  "identity.problem.key": "{file} ne contient aucune clé privée lisible",
  "identity.problem.mismatch": "la clé n'est pas celle du certificat",
  "identity.out-of-dates":
    "Le certificat TLS gardé dans « {dir} » n'est valable que du {from} au {to}. Vérifiez la date et l'heure de cet ordinateur ; s'il a expiré, démarrez avec --tls-new (les participants acceptent alors une fois la nouvelle empreinte).",
  // chat connect --tls, confiance à la première connexion (lib/known_hosts.ts).
  "known.bad-line":
    "La ligne {line} de « {file} » n'est pas de la forme « hôte:port empreinte » ; corrigez-la ou supprimez-la.",
  "known.new":
    "Le serveur {where} présente un certificat que cet ordinateur n'a jamais vu. Son empreinte (SHA-256) :",
  "known.compare":
    "Vérifiez que c'est celle qu'a affichée « chat serve » chez l'hôte.",
  "known.ask": "Lui faire confiance, et la retenir pour {where} ? (o/N) ",
  "known.saved":
    "Retenu dans {file} : désormais, chat n'accepte que ce certificat à cette adresse.",
  "known.declined":
    "Le certificat du serveur {where} n'a pas été accepté ; rien n'a été envoyé.",
  "known.no-terminal":
    "Le serveur {where} présente un certificat que cet ordinateur n'a jamais vu, d'empreinte {fingerprint} ; rien n'a été envoyé. Vérifiez auprès de l'hôte que c'est celle qu'a affichée « chat serve », puis connectez-vous avec --fingerprint {fingerprint}, ou lancez chat connect --tls dans un terminal pour l'accepter une fois.",
  "known.changed":
    "ATTENTION : le certificat du serveur {where} a CHANGÉ depuis que vous l'avez accepté : c'était {expected}, c'est maintenant {actual}. Il peut s'agir d'une machine qui s'intercale, donc rien n'a été envoyé. Demandez à l'hôte : s'il a créé un nouveau certificat (chat serve --tls-new, ou un autre ordinateur), supprimez la ligne {lines} de {file}, ou connectez-vous avec --fingerprint et l'empreinte qu'affiche l'hôte.",

  // --- issue 9: chat connect ---
  "client.outbox.full":
    "Pas connecté, et {max} lignes attendent déjà d'être envoyées : celle-ci n'est pas gardée (la flèche Haut la rappelle) : {text}",
  "client.outbox.full-waiting":
    "Pas connecté, et {max} lignes attendent déjà d'être envoyées : plus rien n'est lu tant que la connexion n'est pas revenue.",
  "client.outbox.unsent.one": "{count} ligne n'a pas été envoyée :",
  "client.outbox.unsent.other": "{count} lignes n'ont pas été envoyées :",
  "client.outbox.maybe-sent":
    "{text}   (envoyée juste avant la coupure : elle est peut-être arrivée)",
  "client.reconnect.lost":
    "Connexion à {where} perdue ({why}). Reconnexion en cours ; ce que vous tapez entre-temps est gardé (jusqu'à {max} lignes) et envoyé au retour.",
  "client.reconnect.failed":
    "La tentative de reconnexion {attempt} a échoué : {message}",
  "client.reconnect.status.waiting":
    "Déconnecté : nouvel essai dans {seconds} s (essai {attempt}).",
  "client.reconnect.status.connecting":
    "Déconnecté : connexion en cours (essai {attempt})...",
  "client.reconnect.status.waiting-lines": "{count} à envoyer.",
  "client.reconnect.back": "Reconnecté à {where}.",
  "client.reconnect.back-restarted":
    "Reconnecté à {where} ; le serveur avait redémarré.",
  "client.reconnect.name-lost":
    "Impossible de reprendre le nom « {name} » ; vous êtes dans le salon en invité (/nick NOM pour changer).",
  "client.why.welcome-late": "le serveur ne nous a pas accueillis à temps",
  // --- issue 10: discovery ---
  "discovery.help.list": `Utilisation : chat list [options]

Liste les salons de discussion annoncés sur le réseau local (DNS-SD sur DNS
multicast, type de service _classchat._tcp), en écoutant environ {seconds} s ;
un par ligne : salon, hôte, adresse:port, personnes en ligne, puis TLS si le
salon chiffre, sa page web s'il en a une, et qui l'a annoncé quand ce n'est
pas l'adresse que le salon indique. Sort avec le code 1 si aucun n'est trouvé.

Options :
  --iface NOM         chercher sur cette interface réseau seulement (ex. eth0)
  --lang fr|en        langue des messages
  -h, --help          afficher cette aide

Une annonce dit où est un salon mais ne prouve rien : vérifiez l'adresse
avec l'hôte. Les réseaux qui bloquent le multicast cachent tous les salons :
demandez alors l'adresse à l'hôte et tapez chat connect ADRESSE.`,
  "discovery.help.serve":
    `Trouver le salon (chat list, chat connect sans adresse) :
  --room NOM          le nom du salon sur le réseau (par défaut : le nom de
                      cet ordinateur)
  --no-discovery      ne pas annoncer le salon (CHAT_NO_DISCOVERY=1 aussi) ;
                      un salon qui écoute sur loopback n'est jamais annoncé
  --iface NOM         annoncer sur cette interface réseau seulement (ex. eth0)`,
  "discovery.help.connect":
    `Sans <hôte>, chat connect cherche les salons du réseau local : il rejoint
le seul trouvé, demande lequel dans un terminal quand il y en a plusieurs,
et sinon dit de donner une adresse. Le nom d'un salon vu dans chat list
marche aussi à la place de <hôte>. Un salon chiffré (TLS) demande son
empreinte.
  --iface NOM         chercher sur cette interface réseau seulement (ex. eth0)`,
  "discovery.list-no-arguments":
    "« chat list » ne prend pas d'argument, reçu « {argument} ». Lancez « chat list --help ».",
  "discovery.bad-room":
    "Impossible de prendre « {room} » comme nom de salon : {problem}.",
  "discovery.off":
    "La découverte est désactivée (CHAT_NO_DISCOVERY est défini) : rien n'a été cherché.",
  "discovery.no-network":
    "Aucun réseau où chercher : cet ordinateur n'a pas d'adresse IPv4 autre que loopback.",
  "discovery.none":
    "Aucun salon trouvé sur le réseau local en {seconds} s. Si le salon de l'hôte est ouvert, ce réseau bloque peut-être le multicast : demandez l'adresse à l'hôte et tapez chat connect ADRESSE.",
  "discovery.online": "{count} en ligne",
  "discovery.announced-by": "annoncé par {source}",
  "discovery.announced":
    "Annoncé sur le réseau local sous le nom « {room} » ({where}) : vos camarades peuvent taper chat connect, ou chat list pour le voir.",
  "discovery.announce-failed":
    "Impossible d'annoncer le salon sur {iface} ({address}) : {message}. Le salon reste ouvert ; sur ce réseau, il faut l'adresse.",
  "discovery.no-iface":
    "Aucune interface réseau « {iface} » avec une adresse IPv4 ; cet ordinateur a : {names}.",
  "discovery.no-iface.none":
    "Aucune interface réseau « {iface} » avec une adresse IPv4 ; cet ordinateur n'a que loopback.",
  "discovery.connect-no-network":
    "Aucune adresse donnée, et aucun réseau où chercher des salons. Donnez l'adresse, par exemple « chat connect 192.168.1.23 ».",
  "discovery.connect-none":
    "Aucune adresse donnée, et aucun salon trouvé sur le réseau local en {seconds} s (ce réseau bloque peut-être le multicast). Donnez l'adresse que l'hôte indique, par exemple « chat connect 192.168.1.23 ».",
  "discovery.connect-several":
    "{count} salons trouvés (listés ci-dessus) : donnez l'adresse ou le nom du salon, par exemple « chat connect 192.168.1.23 ».",
  "discovery.found-several": "{count} salons trouvés :",
  "discovery.which":
    "Quel salon ? Tapez son numéro (1-{max}), ou Entrée pour annuler :",
  "discovery.no-choice": "Aucun salon choisi.",
  "discovery.tls-room":
    "Le salon « {room} » est chiffré (TLS). Tapez l'empreinte affichée sur l'écran de l'hôte, pour être sûr que c'est bien ce salon.",
  "discovery.ask-fingerprint":
    "Empreinte (ou Entrée pour vérifier le certificat auprès des autorités reconnues) :",
  "discovery.no-fingerprint":
    "Aucune empreinte valide tapée : le salon n'a pas été rejoint.",
  "discovery.search-failed":
    "Impossible de chercher les salons du réseau local ({message}) : demandez l'adresse à l'hôte et tapez chat connect ADRESSE.",
  // --- issue 11: web ---
  "web.help.serve": `Navigateurs et téléphones :
  --web [PORT]        sert aussi une page de chat sur PORT (par défaut
                      {webPort} ; 0 pour un port libre) : navigateurs et
                      téléphones rejoignent le même salon
  --no-qr             n'affiche pas le code QR de l'adresse de la page`,
  "web.open": "ou ouvrez {url}",
  "web.qr": "Les téléphones peuvent scanner ce code pour ouvrir la page :",
  "web.tls-hint":
    "La page est servie en HTTPS. Avec un certificat qu'aucune autorité n'a signé (comme celui que fait chat), le navigateur avertit une fois : vérifiez que l'adresse est celle ci-dessus, puis choisissez Paramètres avancés et Continuer (Chrome) ou Accepter le risque (Firefox, Safari) ; l'empreinte SHA-256 du certificat dans le navigateur est celle affichée plus haut.",
  "web.listen.in-use":
    "Le port web {port} est déjà utilisé. Essayez --web {next}.",
  "web.listen.denied":
    "Pas le droit d'écouter sur {where}. Les ports sous 1024 demandent les droits d'administrateur ; essayez --web {port}.",
  "web.listen.other":
    "Impossible de servir la page web sur {where} : {message}",
  // --- issue 12: code blocks ---
  "block.start.one": "{name} ```{lang} ({count} ligne)",
  "block.start.other": "{name} ```{lang} ({count} lignes)",
  "error.block-too-long":
    "bloc de code refusé : {lines} lignes et {bytes} octets, au-delà de la limite de {maxLines} lignes et {maxBytes} octets. Rien n'en a été envoyé.",
  "blocks.help.serve":
    `Blocs de code (une ligne de trois accents graves, suivis ou non d'un langage,
ouvre un bloc ; la ligne suivante de trois accents graves seuls le ferme) :
  --block-lines N     nombre de lignes au plus par bloc (par défaut
                      {blockLines} ; 0 : le plus permis, {maxBlockLines})
  --block-bytes N     octets au plus par bloc (par défaut {blockBytes} ; 0 :
                      le plus permis, {maxBlockBytes})`,
  "client.block.status":
    "bloc de code {lang}({count} pour l'instant) : une ligne de ``` seuls l'envoie",
  // --- issue 12: files ---
  "client.files.offline":
    "Pas de connexion : /send et /get remarchent dès que chat est de retour dans le salon (la flèche du haut rend la ligne).",
  "files.help.serve":
    `Fichiers partagés (/send et /get dans chat connect, liens sur la page) :
  --file-max-bytes N  plus gros fichier partagé, en octets, ou avec K ou M
                      (par défaut 2M)
  --files-max-bytes N tous les fichiers gardés en mémoire ensemble (par défaut
                      64M) ; les plus anciens partent d'abord ; tout est
                      oublié à l'arrêt
  --no-files          désactive le partage de fichiers (une limite de 0 aussi)`,
  "files.help.connect": `Fichiers, dans le chat :
  /send CHEMIN        partage un fichier avec le salon (/send NOM CHEMIN :
                      avec NOM)
  /get N [DOSSIER]    enregistre le fichier partagé N dans DOSSIER (par
                      défaut : ici), sans jamais remplacer un fichier,
                      vérifié par son SHA-256`,
  "file.shared":
    "{from} partage « {name} » ({size}, sha256 {sha256}) : tapez /get {id} dans chat connect",
  "file.shared.to":
    "{from} partage « {name} » avec {to} ({size}, sha256 {sha256}) : tapez /get {id} dans chat connect",
  "file.link": ", ou téléchargez-le sur {url}",
  "error.files-off": "le partage de fichiers est désactivé dans ce salon.",
  "error.file-too-big":
    "le fichier est trop gros ({size}) : la limite est {max}.",
  "error.file-busy":
    "un transfert de fichier est déjà en cours : attendez qu'il se termine.",
  "error.file-join-first":
    "rejoignez le salon (/nick NOM) avant de partager un fichier.",
  "error.file-no-upload":
    "aucun envoi de fichier en cours (envoyez d'abord file-offer).",
  "error.file-mismatch":
    "le fichier « {name} » reçu ne correspond pas à sa taille ou à son SHA-256 : il n'a pas été partagé.",
  "error.file-stalled":
    "plus rien n'est arrivé du fichier « {name} » depuis {seconds} s : l'envoi est annulé.",
  "error.file-gone":
    "il n'y a pas de fichier {id} (il a peut-être été retiré pour faire de la place).",
  "client.file.usage-send":
    "usage : /send CHEMIN (au salon) ou /send NOM CHEMIN (à une personne)",
  "client.file.usage-get": "usage : /get N [DOSSIER]",
  "client.file.cannot-read": "impossible de lire « {path} » : {message}",
  "client.file.busy":
    "un fichier est déjà en cours d'envoi : attendez qu'il se termine.",
  "client.file.progress-up": "envoi de « {name} » : {percent} % de {size}",
  "client.file.progress-down":
    "réception de « {name} » : {percent} % de {size}",
  "client.file.saved":
    "fichier {id} enregistré sous {path} ({size}, SHA-256 vérifié).",
  "client.file.mismatch":
    "le fichier {id} ne correspond pas à son SHA-256 : le fichier partiel {path} a été supprimé.",
  "client.file.cannot-save":
    "impossible d'enregistrer le fichier {id} dans « {dir} » : {message}",
  "client.file.interrupted":
    "la connexion a été coupée pendant le transfert du fichier {id} : réessayez.",
  "client.file.upload-interrupted":
    "la connexion a été coupée pendant l'envoi de « {name} » : refaites /send.",
};
