/**
 * Every sentence the program says, in English. `catalog_fr.ts` has the same
 * keys with the same `{placeholders}`; a test fails when they differ.
 *
 * The room's lines here are the plain-text wire format that `nc`, `telnet`
 * and the course's Python clients read: keep them byte for byte.
 *
 * @module
 */

export const CATALOG_EN = {
  // --- the room, as plain-text clients read it (lib/render_text.ts) -------
  "private.prefix": "[private]",
  "joined": "{name} joined",
  "left": "{name} left",
  "left.reason": "{name} left ({reason})",
  "renamed": "{from} is now known as {to}",
  "topic.set": "{by} set the topic: {topic}",
  "topic.is": "Topic: {topic}",
  "topic.none": "No topic is set.",
  "welcome": "Welcome, {name}! Online ({count}): {names}.",
  "welcome.topic": " Topic: {topic}.",
  "welcome.end": " Type /help for commands, /nick NAME to change your name.",
  "who": "Online ({count}): {names}",
  "who.watchers.one": "; {count} watching",
  "who.watchers.other": "; {count} watching",
  "who.address": "{name} ({address})",
  "help.title": "Commands:",
  "help.footer":
    "A line that is just 'stop' also quits. Start a line with // to send a message beginning with /.",
  // The footer of the host's /help: the host cannot quit its own room.
  "help.footer.host":
    "At this console, /stop shuts the room down for everyone (so does Ctrl-C); 'stop' and /quit do not. Start a line with // to send a message beginning with /.",
  "help.blocks":
    "A line that is just ``` (or ```py, ```js ...) starts a code block; everything up to the next line ``` goes out as one message.",
  "pong": "pong",
  "shutdown": "server is shutting down",
  "disconnected": "You were disconnected: {reason}.",
  "error": "error: {text}",
  // Why someone left, in "bob left (...)".
  "reason.kicked": "kicked by the host",
  "reason.banned": "banned by the host",
  "reason.flooding": "flooding",
  "reason.too-slow": "too slow",
  "reason.timed-out": "timed out",
  "reason.connection-lost": "connection lost",
  "reason.room-full": "room full",
  // Why the server disconnected you, in "You were disconnected: ...".
  "disconnected.kicked": "kicked by the host",
  "disconnected.banned": "banned by the host",
  "disconnected.flooding": "flooding",
  "disconnected.too-slow": "too slow to keep up",
  "disconnected.timed-out": "timed out",
  "disconnected.connection-lost": "connection lost",
  "disconnected.room-full":
    "the room is full and you had sent nothing for a while: a newcomer took your seat. Reconnect and send a line to join",
  "notice.greeting":
    "Hello! You are watching the room. Send /nick NAME to join with a name, or type a message to join as a guest.",
  "notice.password-needed": "This room needs a password: send /pass PASSWORD",
  "notice.password-accepted":
    "Password accepted. Send /nick NAME to join with a name, or type a message to join as a guest.",
  "notice.no-password": "This room has no password.",
  "notice.bye": "Bye!",
  "notice.muted": "{name} was muted by the host",
  "notice.unmuted": "{name} may speak again",
  "notice.address-banned": "{address} is banned until the server stops.",
  "notice.password-lockout":
    "{address} gave {failures} wrong passwords: no password from it is tried for {seconds} s.",
  "notice.password-room-lockout":
    "{failures} wrong passwords in the last minute: no password from anyone is tried for {seconds} s.",
  "notice.stop-confirm":
    "People connected besides you: {count}. Type /stop again within {seconds} s to shut the room down for everyone.",
  "notice.how-to-stop":
    '"{typed}" does not shut the room down at the host\'s console, and nothing was sent: /stop does, for everyone.',
  "error.unknown-command":
    'unknown command "/{command}". Type /help for the list.',
  "error.usage": "usage: /{command} {usage}",
  "error.name-invalid": 'cannot use "{name}" as a name: {problem}.',
  "error.name-taken": 'the name "{name}" is taken. Try another one.',
  "error.name-reserved":
    'the name "{name}" is reserved for the host. Try another one.',
  "error.same-name": "you are already called {name}.",
  "error.no-such-name": 'no one called "{name}" is here. Try /who.',
  "error.password-first":
    "this room needs a password: send /pass PASSWORD first.",
  "error.wrong-password": "wrong password.",
  "error.password-timeout":
    "no password received within {seconds} s of connecting; closing.",
  "error.password-locked":
    "too many wrong passwords: try again in {seconds} s.",
  "error.flooding":
    "slow down: at most {burst} lines at once, then {rate} per second. Lines sent faster are not delivered.",
  "error.muted": "you are muted by the host: nothing you send is delivered.",
  "error.host-only-topic": "only the host can set the topic.",
  "error.cannot-moderate-host": "you cannot {command} the host.",
  "error.no-address": "{name} has no address.",
  "error.already-muted": "{name} is already muted.",
  "error.not-muted": "{name} is not muted.",
  "error.line-too-long": "line too long (over {limit} bytes); it was not sent.",
  "error.full.one": "the server is full ({max} client). Try again later.",
  "error.full.other": "the server is full ({max} clients). Try again later.",
  "error.too-many-connections":
    "too many connections from your address (at most {limit}). Close one and try again.",
  "error.banned": "you are banned from this room.",
  "error.internal-error":
    "the server hit a bug while handling that line (it is logged on the server); it may not have been delivered.",
  "error.bad-json":
    "that line is not a JSON object; send one object per line, or plain text.",
  "error.unknown-type":
    'unknown message type "{type}"; nothing was done. See docs/PROTOCOL.md.',
  "error.unknown-field":
    'unknown field "{field}"; nothing was done. See docs/PROTOCOL.md.',
  "error.bad-field":
    'field "{field}" is missing or has the wrong type; nothing was done.',
  "error.protocol-version":
    "protocol version {asked} is not spoken here; this server speaks version {supported}.",
  "name.empty": "a name needs at least one character",
  "name.too-long": "names are at most {max} characters long",
  "name.characters":
    "names may contain only letters of the Latin alphabet, with or without accents (é, ç, ø ...), digits, _ and -",
  "name.start": "a name starts with a letter or a digit",
  // Arguments of each command, as /help and usage errors show them.
  "usage.nick": "NAME",
  "usage.who": "",
  "usage.me": "TEXT",
  "usage.msg": "NAME TEXT",
  "usage.help": "",
  "usage.quit": "",
  "usage.topic": "[TEXT]",
  "usage.kick": "NAME",
  "usage.ban": "NAME",
  "usage.mute": "NAME",
  "usage.unmute": "NAME",
  "usage.stop": "",
  // What each command does, in /help.
  "command.nick": "change your name (letters, digits, _ and -; at most 24)",
  "command.who": "list who is online",
  "command.me": "describe an action: /me waves shows * NAME waves",
  "command.msg": "send a private message that only NAME sees",
  "command.help": "show this list",
  "command.quit": "leave the chat",
  "command.topic": "show the topic (the host can set it)",
  "command.kick": "disconnect NAME",
  "command.ban":
    "disconnect NAME and refuse its address until the server stops (or a range: /ban 192.168.1.0/28)",
  "command.mute": "stop NAME's lines from reaching anyone",
  "command.unmute": "let NAME speak again",
  "command.stop": "shut the server down for everyone",

  // --- the server's own messages (lib/server.ts, main.ts) -----------------
  "listen.in-use": "Port {port} is already in use. Try --port {next}.",
  "listen.not-local":
    "Cannot listen on {host}: it is not an address of this machine. Try --host 0.0.0.0.",
  "listen.denied":
    "Not allowed to listen on {where}. Ports below 1024 need administrator rights; try --port 5000.",
  "listen.key-mismatch":
    "The TLS key does not belong to the certificate: check --tls-cert and --tls-key.",
  "listen.bad-certificate": "Cannot use the TLS certificate or key: {message}",
  "listen.other": "Cannot listen on {where}: {message}",
  // On the server's stderr when the room throws: a bug, not the client's fault.
  "server.bug":
    "Bug in chat (please report it), with the connection from {address}: {message}. The room keeps serving; this error is logged once.",
  "server.bug.console":
    "Bug in chat (please report it), at the console: {message}. The room keeps serving; this error is logged once.",

  // --- the command line (lib/cli.ts, main.ts) ----------------------------
  "cli.help.main": `chat: a chat room for everyone on the local network

Usage:
  chat serve [options]            start a chat room on this computer
  chat connect <host>[:port]      join a chat room
  chat connect [ROOM]             join a room found on the network
  chat list                       list the rooms on the local network
  chat --help | --version

Run "chat serve --help" or "chat connect --help" for their options.
People without chat can join with: nc <host> <port>  (or telnet)
Language: --lang fr|en, else LC_ALL, LC_MESSAGES or LANG (fr...: French).`,
  "cli.help.serve": `Usage: chat serve [options]

Starts a chat room and prints the commands classmates can type to join.
Type at the console to chat as the host; /stop or Ctrl-C shuts the room down
(while people are connected, /stop asks you to type it again within
{stopConfirm} s).

Options:
  --host ADDRESS      address to listen on (default 0.0.0.0: every network)
  --port PORT         port to listen on, 0 for any free port (default {port})
  --name NAME         your name in the room (default host)
  --password          ask for a room password (or take it from CHAT_PASSWORD);
                      newcomers must send /pass PASSWORD first
  --tls               encrypt, with chat's own certificate, made once and kept
                      in ~/.config/chat (or $XDG_CONFIG_HOME/chat): the same
                      fingerprint at every start, for chat connect
  --tls-new           encrypt, with a new certificate, kept instead
  --tls-cert FILE     encrypt with this certificate (PEM) ...
  --tls-key FILE      ... and its private key (PEM)
  --lang fr|en        language of this console and of the room for nc and
                      telnet users (default: from LC_ALL, LC_MESSAGES or LANG)
  --history N         earlier public lines shown to each newcomer, kept in
                      memory (default {history}; 0: none)
  --log FILE          append the room's public lines, joins, leaves and
                      topics to FILE, each after its time (ISO 8601)
  -h, --help          show this help

Limits (0 turns a limit off, except for --flood-burst, --max-line-bytes and
--queue-kib):
  --max-clients N     most people connected at once (default {maxClients})
  --max-per-ip N      most connections from one address (default {maxPerAddress})
  --handshake-timeout SECONDS
                      time to send the room password after connecting,
                      and with --tls to finish the TLS handshake (default
                      {handshakeTimeout}; 0 keeps it for the handshake)
  --heartbeat-timeout SECONDS
                      drop a chat client silent this long (default {heartbeatTimeout})
  --flood-burst N     lines anyone may send at once (default {floodBurst})
  --flood-rate N      lines per second after that (default {floodRate})
  --flood-disconnect N
                      refused lines in a row that disconnect the sender
                      (default {floodDisconnect})
  --room-rate N       lines per second the whole room accepts, heaviest
                      senders refused first; 0: no ceiling (default {roomRate})
  --max-line-bytes N  longest line a client may send, from 1 to {longestLine}
                      bytes (default {maxLineBytes})
  --queue-kib N       KiB waiting for a client before it is dropped as too
                      slow (default {queueKib})
  --password-delay SECONDS
                      wait before refusing a wrong password (default {passwordDelay})
  --password-tries N  wrong passwords from one address before it is locked
                      out for 5 s, then 10 s, 20 s ... up to 15 min
                      (default {passwordTries}; the room takes at most
                      {roomPasswordTries} a minute; 0: no lock-out)

Host commands at the console: /kick /ban /mute /unmute NAME, /topic TEXT.`,
  "cli.help.connect": `Usage: chat connect <host>[:port] [options]

Joins the chat room at <host>, e.g. chat connect 192.168.1.23

Options:
  --port PORT         port of the room (default {port})
  --name NAME         your name (default: your login name)
  --tls               encrypt; a server not yet known shows its fingerprint
                      and asks (at a terminal), then is remembered in
                      ~/.config/chat/known_hosts: a changed one is refused
  --ca FILE           encrypt; the certificate must be signed by this
                      certificate authority (PEM)
  --fingerprint SHA256
                      encrypt, accepting only the certificate with this
                      fingerprint (printed by chat serve --tls)
  --lang fr|en        language to show everything in (default: from LC_ALL,
                      LC_MESSAGES or LANG)
  --no-reconnect      end when the connection drops, instead of connecting
                      again (every 1, 2, 4 ... up to {backoff} s)
  --quiet             no bell when your name is mentioned or a private
                      message arrives (the line is still highlighted)
  --log FILE          append what you see (with private messages) to FILE
  -h, --help          show this help

A room with a password asks for it (or takes it from CHAT_PASSWORD).
While reconnecting, up to {outbox} typed lines are kept and sent once back.

In the chat: /help lists commands; /quit, stop, Ctrl-C or Ctrl-D leaves.`,
  "cli.unknown-command":
    'Unknown command "{command}". Use "chat serve" or "chat connect <host>".',
  "cli.unknown-top-option":
    'Unknown option "{option}". Run "chat --help" for usage.',
  "cli.unknown-option":
    'Unknown option "{option}" for "chat {command}". Run "chat {command} --help".',
  "cli.option-takes-no-value": 'Option "{option}" does not take a value.',
  "cli.option-dash-value":
    'Option "{option}" got a value starting with "-": write it as {option}=VALUE.',
  "cli.option-needs-value":
    'Option "{option}" needs a value, e.g. {option} {example}.',
  "cli.value": "VALUE",
  "cli.bad-lang": 'Unknown language "{lang}" for --lang: use fr or en.',
  "cli.bad-name": 'Cannot use "{name}" as a name: {problem}.',
  "cli.bad-port": 'Bad port "{port}": use a number from {min} to 65535.',
  "cli.bad-count":
    'Bad value "{value}" for {option}: use a whole number of {min} or more.',
  "cli.bad-range":
    'Bad value "{value}" for {option}: use a whole number from {min} to {max}.',
  "cli.bad-address":
    'Bad address "{address}": use a host name or IP address, e.g. 192.168.1.23.',
  "cli.serve-no-arguments":
    '"chat serve" takes no arguments, got "{argument}". Run "chat serve --help".',
  "cli.tls-cert-and-key":
    "--tls-cert and --tls-key go together: give the certificate and its key.",
  "cli.connect-no-address":
    'Missing the server\'s address, e.g. "chat connect 192.168.1.23".',
  "cli.connect-addresses":
    '"chat connect" takes one address, got {count}: {addresses}.',
  "cli.connect-port-twice":
    'The port is given twice ("{address}" and --port). Give it once.',
  "cli.fingerprint-and-ca":
    "Give either --fingerprint or --ca, not both: the fingerprint already names the one certificate to accept.",
  "cli.bad-fingerprint":
    'Bad fingerprint "{fingerprint}": copy the 64 hexadecimal digits that "chat serve --tls" printed (colons optional).',
  // What `chat serve` prints (main.ts). The first line must hold ADDRESS:PORT.
  "cli.listening": "Listening on {address}",
  "cli.encrypted": "Encrypted (TLS). Certificate fingerprint (SHA-256):",
  "cli.password-needed": "Newcomers must give the room password.",
  "cli.join-with": "Classmates can join with:",
  "cli.join-local-only":
    "No network address found: only this computer can join, with:",
  "cli.join-loopback":
    "Only this computer can join: {host} is reachable from this computer only (--host 0.0.0.0 lets classmates in). Join with:",
  "cli.join-from-clone": "(or from a clone of chat: {command})",
  "cli.join-without-chat": "(or without chat: {command})",
  "cli.join-without-chat.password":
    "(or without chat: {command}, then send /pass PASSWORD)",
  "cli.console-hint":
    "Type here to chat as the host; /help lists commands, /stop shuts down.",
  "cli.stopped": "Server stopped.",
  // When the console's input ends: Ctrl-D at a terminal, or the end of a pipe.
  "cli.console-ended.terminal":
    "Ctrl-D: this console no longer reads what you type, and the room keeps running. Stop it with Ctrl-C, or with: kill {pid}",
  "cli.console-ended":
    "The console's input has ended: the room keeps running without a console. Stop it with: kill {pid}",
  // Lines the host's console skipped because its output was not being read
  // (lib/terminal.ts); said once its output moves again.
  "cli.console-skipped.one":
    "[1 line not shown: the console was not keeping up]",
  "cli.console-skipped.other":
    "[{count} lines not shown: the console was not keeping up]",
  "cli.password-prompt": "Room password: ",
  "cli.password-again": "Same password again: ",
  "cli.password-no-terminal":
    "--password needs a terminal to type it at, or the password in CHAT_PASSWORD.",
  "cli.password-empty": "The room password cannot be empty.",
  "cli.password-differ": "The two passwords differ.",
  "cli.password-try-again": "Try again ({attempt} of {max}).",
  "cli.password-gave-up":
    "No password after {max} tries; the room was not started.",
  "cli.password-cancelled": "No password typed; the room was not started.",
  "cli.unexpected-error": "unexpected error: {message}",

  // --- TLS (lib/tls.ts) ----------------------------------------------------
  "tls.not-pem":
    'This is not a PEM certificate: it has no readable "-----BEGIN CERTIFICATE-----" block.',
  // Which file, in the messages about files below.
  "tls.file.certificate": "certificate file",
  "tls.file.key": "key file",
  "tls.file.ca": "CA file",
  "tls.cannot-read": 'Cannot read the {what} "{path}": {reason}.',
  "tls.reason.not-found": "no such file",
  "tls.reason.directory": "it is a directory",
  "tls.reason.denied": "permission denied",
  "tls.reason.not-allowed": "chat may not read files (it needs --allow-read)",
  "tls.cert.holds-key":
    'The {what} "{path}" holds a private key, not a certificate. Did you swap --tls-cert and --tls-key?',
  "tls.cert.not-pem":
    'The {what} "{path}" is not a PEM certificate: it has no "-----BEGIN CERTIFICATE-----" block.',
  "tls.cert.damaged":
    'The {what} "{path}" has a damaged certificate block (its base64 does not decode).',
  "tls.key.encrypted":
    'The key file "{path}" is protected by a password, which chat cannot use. Write it without one: openssl pkey -in {path} -out plain-key.pem',
  "tls.key.holds-certificate":
    'The key file "{path}" holds a certificate, not a private key. Did you swap --tls-cert and --tls-key?',
  "tls.key.not-pem":
    'The key file "{path}" is not a PEM private key: it has no "-----BEGIN PRIVATE KEY-----" block.',
  "tls.key.damaged":
    'The key file "{path}" has a damaged key block (its base64 does not decode).',
  "tls.key.unsupported":
    'chat cannot sign a certificate with the key in "{path}": it reads RSA, ECDSA (P-256, P-384, P-521) and Ed25519 keys. Make one as the README shows.',
  "tls.cert.version-1":
    'The certificate file "{path}" holds an X.509 version 1 certificate, which TLS cannot use. Make one as the README shows.',
  "tls.not-tls":
    "The server at {where} did not answer with TLS; is it started with --tls?",
  "tls.failed":
    "TLS with the server at {where} failed ({message}). Check that it is a chat server started with --tls, of the same version as yours.",
  "tls.handshake-timeout":
    "The server at {where} did not complete a TLS handshake within {seconds} s; is it started with --tls?",
  "tls.no-certificate":
    "The server at {where} sent no certificate; is it a chat server started with --tls?",
  "tls.bad-fingerprint":
    'Bad fingerprint "{fingerprint}": give the 64 hex digits (SHA-256) that "chat serve --tls" printed.',
  "tls.mismatch":
    "The certificate of the server at {where} does not match the fingerprint: expected {expected}, got {actual}. It may be a machine in the middle, a different server, or a server restarted with a new certificate; nothing was sent.",
  "tls.unreadable":
    "The certificate of the server at {where} matches the fingerprint but chat cannot read it; nothing was sent. Ask the host for a certificate made as the README shows.",
  "tls.no-name":
    'The certificate of the server at {where} matches the fingerprint but names no host (no subjectAltName), so chat cannot check that the server holds its key; nothing was sent. Use "chat serve --tls", or a certificate with a subjectAltName.',
  "tls.key-not-proven":
    "The server at {where} showed the certificate with fingerprint {expected}, then refused to prove it holds its key or showed another certificate ({message}). It may be a machine in the middle; nothing was sent.",
  "tls.hint.no-ca":
    "Pass the server's certificate (or its authority's) with --ca FILE, or use --fingerprint with the fingerprint the server printed.",
  "tls.hint.ca":
    'It is not signed by the certificate in "{file}". Check that file, or use --fingerprint with the fingerprint the server printed.',
  "tls.self-signed":
    "The server at {where} uses a self-signed certificate, which this computer does not trust. {hint}",
  "tls.untrusted":
    "The certificate of the server at {where} is not issued by an authority this computer trusts. {hint}",
  "tls.wrong-name":
    'The certificate of the server at {where} is not valid for the name "{hostname}"{holds}. Connect by a name it holds, or use --fingerprint.',
  "tls.wrong-name.holds": " (it is for {names})",
  "tls.expired":
    "The certificate of the server at {where} has expired or is not valid yet. Check the date and time on both computers; the server needs a new certificate if it has expired.",
  "tls.refused":
    "The certificate of the server at {where} was refused ({message}). Ask the host for a certificate made as the README shows.",
  "tls.unusable":
    "The certificate of the server at {where} cannot be a TLS server's: {problem}. The host should run the same version of chat as you, which serves such a certificate under one of its own, or make a certificate as the README shows.",
  "tls.pinned-unusable":
    "The certificate of the server at {where} matches the fingerprint, but TLS refuses it as a server's: {problem}; nothing was sent. The host should run the same version of chat as you, which serves such a certificate under one of its own, or make a certificate as the README shows.",
  "tls.pinned-expired":
    "The certificate of the server at {where} matches the fingerprint but is valid only from {from} to {to}; nothing was sent. Check the date and time on both computers; if it has expired, the host needs a new certificate.",
  // Why TLS refuses a certificate, in tls.unusable and tls.pinned-unusable.
  "tls.problem.ca":
    "it says it is a certificate authority's (basicConstraints CA:TRUE)",
  "tls.problem.not-for-servers":
    "its extended key usage does not allow TLS servers (no serverAuth)",
  "tls.problem.version-1":
    "it is an X.509 version 1 certificate, without extensions",
  "tls.problem.critical-extension":
    "it has a critical extension that TLS does not know",
  "tls.problem.algorithm":
    "its key or signature algorithm is not one TLS accepts",
  // --- chat connect (lib/client.ts, lib/terminal.ts) ----------------------
  "client.cannot-reach.refused":
    'Cannot reach {where}: connection refused. Is "chat serve" running there, on port {port}?',
  "client.cannot-find-host":
    'Cannot find host "{host}": no such name on this network. Check the address the server printed.',
  "client.cannot-reach.timeout":
    "Cannot reach {where}: no answer after {seconds} s. Are you on the same network?",
  "client.cannot-reach.unreachable":
    "Cannot reach {where}: network unreachable. Are you connected to the network?",
  "client.cannot-reach.other": "Cannot reach {where}: {message}",
  "client.silent":
    'The server at {where} said nothing for {seconds} s. Is "chat serve" what is running on port {port}?',
  "client.silent.tls-hint":
    " If it was started with --tls, add --fingerprint or --tls.",
  "client.no-proto-answer":
    'The server at {where} did not answer "/proto {version}" within {seconds} s. Is "chat serve" what is running on port {port}?',
  "client.closed.before-greeting":
    "The server at {where} closed the connection before saying anything.",
  "client.closed.before-proto":
    "The server at {where} closed the connection before the chat could start.",
  "client.closed.after-password":
    "The server at {where} closed the connection after the password.",
  "client.refused.connection":
    "The server at {where} refused the connection: {reason}",
  "client.refused.password":
    "The server at {where} refused the password: {reason}",
  "client.refused.name": 'The server refused the name "{name}": {reason}',
  "client.older-server":
    "The server at {where} runs an older version of chat that does not speak the structured protocol. Use the same version of chat as the host.",
  "client.protocol-version":
    "The server at {where} speaks version {theirs} of the chat protocol, and this chat connect speaks version {ours}. Use the same version of chat as the host.",
  "client.password-prompt": "Password for the room at {where}: ",
  "client.password-retry":
    "Wrong password. Try again (try {attempt} of {max}).",
  "client.ask-name":
    "Type the name you want and press Enter, or just press Enter to join as a guest.",
  "client.password-needed":
    "The room at {where} needs a password: run chat connect at a terminal to type it, or set CHAT_PASSWORD.",
  "client.disconnected": "Disconnected from {where}: {why}.",
  "client.why.shutdown": "the server shut down",
  "client.why.silent": "the server stopped answering (nothing for {seconds} s)",
  "client.why.closed": "the server closed the connection",

  // --- issue 9: the room and the server ---
  "notice.history-start": "Earlier in the room ({count} lines):",
  "notice.history-start.one": "Earlier in the room ({count} line):",
  "notice.history-end": "End of earlier lines.",
  "error.name-away":
    'the name "{name}" belongs to someone whose connection dropped; it is kept for them {seconds} s more. Try another one.',
  "error.resume-failed":
    'the name "{name}" is not kept for you (it was let go, or the server restarted). Join with /nick NAME.',
  "usage.history": "",
  "command.history": "show the room's earlier lines again",
  "transcript.cannot-open": 'cannot write the transcript "{path}": {reason}.',
  "transcript.write-failed":
    'writing the transcript "{path}" failed ({reason}); nothing more is written to it.',
  "transcript.reason.denied": "permission denied",
  "transcript.reason.no-folder": "its folder does not exist",
  "transcript.reason.folder": "it is a folder",
  "transcript.writing": "The room's public lines are appended to {path}.",
  // --- issue 9: TLS identity ---
  // chat's settings folder (lib/config_dir.ts).
  "config.no-home":
    "chat has no settings folder to keep its TLS certificate and known servers in: HOME is not set. Set HOME or XDG_CONFIG_HOME.",
  "config.no-appdata":
    "chat has no settings folder to keep its TLS certificate and known servers in: APPDATA is not set. Set APPDATA.",
  "config.cannot-create":
    'Cannot create chat\'s settings folder "{path}": {reason}. Set XDG_CONFIG_HOME to a folder you can write.',
  "config.cannot-read": 'Cannot read "{path}": {reason}.',
  "config.cannot-write": 'Cannot write "{path}": {reason}.',
  "config.not-a-folder":
    '"{path}" should be chat\'s settings folder but is not a folder. Move it away, or set XDG_CONFIG_HOME to another folder.',
  "config.not-a-file":
    '"{path}" should be a file of chat\'s settings but is not a file. Move it away.',
  "config.reason.not-allowed":
    "chat may not write files (it needs --allow-write)",
  "config.reason.not-a-folder": "part of the path is not a folder",
  "config.reason.read-only": "the disk is read-only",
  "config.loose-folder":
    'chat\'s settings folder "{path}" can be changed by other users (mode {mode}): they could swap its certificate or the servers it trusts. If that is not expected, check its files, then: chmod 700 {path}',
  "config.loose-file":
    '"{path}" can be changed by other users (mode {mode}): they could swap what chat trusts. Check it, then: chmod 600 {path}',
  "config.loose-key":
    'The TLS key "{path}" can be read by other users (mode {mode}): anyone who copied it can pretend to be this server. Make a new one with chat serve --tls-new (classmates then accept the new fingerprint once), or, if you are sure nobody copied it: chmod 600 {path}',
  // chat serve --tls, --tls-new (lib/tls_identity.ts, main.ts).
  "identity.kept":
    "(the same at every start: kept in {dir}; --tls-new makes a new one)",
  "identity.made":
    "(new: kept in {dir} for the next starts; --tls-new makes a new one)",
  "identity.new-and-cert":
    "--tls-new makes a new certificate of chat's own: it goes with --tls, not with --tls-cert and --tls-key.",
  "identity.damaged":
    'The TLS certificate kept in "{dir}" cannot be used: {problem}. Start with --tls-new to make a new one (classmates then accept the new fingerprint once).',
  "identity.problem.missing": "{file} is missing",
  "identity.problem.certificate": "{file} holds no readable certificate",
  "identity.problem.key": "{file} holds no readable private key",
  "identity.problem.mismatch": "the key is not the certificate's",
  "identity.out-of-dates":
    'The TLS certificate kept in "{dir}" is valid only from {from} to {to}. Check this computer\'s date and time; if it has expired, start with --tls-new (classmates then accept the new fingerprint once).',
  // chat connect --tls, trust on first use (lib/known_hosts.ts).
  "known.bad-line":
    'Line {line} of "{file}" is not "host:port fingerprint"; correct or delete it.',
  "known.new":
    "The server at {where} shows a certificate this computer has not seen before. Its fingerprint (SHA-256):",
  "known.compare": 'Check that it is the one the host\'s "chat serve" printed.',
  "known.ask": "Trust it, and remember it for {where}? (y/N) ",
  "known.saved":
    "Remembered in {file}: from now on, chat accepts only this certificate there.",
  "known.declined":
    "The certificate of the server at {where} was not accepted; nothing was sent.",
  "known.no-terminal":
    'The server at {where} shows a certificate this computer has not seen before, with fingerprint {fingerprint}; nothing was sent. Check with the host that it is the one "chat serve" printed, then connect with --fingerprint {fingerprint}, or run chat connect --tls at a terminal to accept it once.',
  "known.changed":
    "WARNING: the certificate of the server at {where} has CHANGED since you accepted it: it was {expected}, it is now {actual}. It may be a machine in the middle, so nothing was sent. Ask the host: if they made a new certificate (chat serve --tls-new, or another computer), remove line {lines} of {file}, or connect with --fingerprint and the fingerprint the host prints.",

  // --- issue 9: chat connect ---
  "client.outbox.full":
    "Not connected, and {max} lines already wait to be sent: this one was not kept (the Up arrow brings it back): {text}",
  "client.outbox.full-waiting":
    "Not connected, and {max} lines already wait to be sent: reading no more input until the connection is back.",
  "client.outbox.unsent.one": "{count} line was not sent:",
  "client.outbox.unsent.other": "{count} lines were not sent:",
  "client.outbox.maybe-sent":
    "{text}   (sent just before the connection dropped: it may have arrived)",
  "client.reconnect.lost":
    "Connection to {where} lost ({why}). Reconnecting; what you type meanwhile is kept (up to {max} lines) and sent once back.",
  "client.reconnect.failed": "Reconnect attempt {attempt} failed: {message}",
  "client.reconnect.status.waiting":
    "Disconnected: trying again in {seconds} s (attempt {attempt}).",
  "client.reconnect.status.connecting":
    "Disconnected: connecting (attempt {attempt})...",
  "client.reconnect.status.waiting-lines": "{count} to send.",
  "client.reconnect.back": "Reconnected to {where}.",
  "client.reconnect.back-restarted":
    "Reconnected to {where}; the server had restarted.",
  "client.reconnect.name-lost":
    'Could not take the name "{name}" back; you are in the room as a guest (/nick NAME to change).',
  "client.why.welcome-late": "the server did not welcome us back in time",
  // --- issue 10: discovery ---
  "discovery.help.list": `Usage: chat list [options]

Lists the chat rooms announced on the local network (DNS-SD over multicast
DNS, service type _classchat._tcp), listening for about {seconds} s; one a
line: room, host, address:port, people online, then TLS when the room
encrypts, its web page if any, and who announced it when that is not the
address the room claims. Exits 1 when none is found.

Options:
  --iface NAME        look on this network interface only (e.g. eth0)
  --lang fr|en        language of the messages
  -h, --help          show this help

An announcement says where a room is but proves nothing: check the address
with the host. Networks that block multicast hide every room: then ask the
host for the address and type chat connect ADDRESS.`,
  "discovery.help.serve":
    `Finding the room (chat list, chat connect without an address):
  --room NAME         the room's name on the network (default: this
                      computer's name)
  --no-discovery      do not announce the room (CHAT_NO_DISCOVERY=1 too);
                      a room listening on loopback is never announced
  --iface NAME        announce on this network interface only (e.g. eth0)`,
  "discovery.help.connect":
    `Without <host>, chat connect looks for rooms on the local network: it joins
the only one found, asks which one at a terminal when there are several,
and otherwise says to pass an address. A room's name from chat list also
works in place of <host>. A room that needs TLS asks for its fingerprint.
  --iface NAME        look on this network interface only (e.g. eth0)`,
  "discovery.list-no-arguments":
    '"chat list" takes no arguments, got "{argument}". Run "chat list --help".',
  "discovery.bad-room": 'Cannot use "{room}" as a room name: {problem}.',
  "discovery.off":
    "Discovery is off (CHAT_NO_DISCOVERY is set): nothing was searched.",
  "discovery.no-network":
    "No network to search: this computer has no IPv4 address other than loopback.",
  "discovery.none":
    "No chat room found on the local network within {seconds} s. If the host's room is running, this network may block multicast: ask the host for the address and type chat connect ADDRESS.",
  "discovery.online": "{count} online",
  "discovery.announced-by": "announced by {source}",
  "discovery.announced":
    'Announced on the local network as "{room}" ({where}): classmates can type chat connect, or chat list to see it.',
  "discovery.announce-failed":
    "Cannot announce the room on {iface} ({address}): {message}. The room keeps serving; classmates there need the address.",
  "discovery.no-iface":
    'No network interface "{iface}" with an IPv4 address; this computer has: {names}.',
  "discovery.no-iface.none":
    'No network interface "{iface}" with an IPv4 address; this computer has none but loopback.',
  "discovery.connect-no-network":
    'No address given, and no network to look for rooms on. Pass the address, e.g. "chat connect 192.168.1.23".',
  "discovery.connect-none":
    'No address given, and no chat room found on the local network within {seconds} s (this network may block multicast). Pass the address the host gives, e.g. "chat connect 192.168.1.23".',
  "discovery.connect-several":
    'Found {count} rooms (listed above): pass the address or the room\'s name, e.g. "chat connect 192.168.1.23".',
  "discovery.found-several": "Found {count} rooms:",
  "discovery.which":
    "Which room? Type its number (1-{max}), or Enter to cancel:",
  "discovery.no-choice": "No room chosen.",
  "discovery.tls-room":
    'The room "{room}" encrypts (TLS). Type the fingerprint shown on the host\'s screen, to be sure it is that room.',
  "discovery.ask-fingerprint":
    "Fingerprint (or Enter to check the certificate against trusted authorities):",
  "discovery.no-fingerprint":
    "No valid fingerprint typed: the room was not joined.",
  "discovery.search-failed":
    "Cannot look for rooms on the local network ({message}): ask the host for the address and type chat connect ADDRESS.",
  // --- issue 11: web ---
  "web.help.serve": `Browsers and phones:
  --web [PORT]        also serve a chat page on PORT (default {webPort}; 0 for
                      any free port): browsers and phones join the same room
  --no-qr             do not print the QR code of the page's address`,
  "web.open": "or open {url}",
  "web.qr": "Phones can scan this code to open the page:",
  "web.tls-hint":
    "The page is served over HTTPS. With a certificate no authority signed (like the one chat makes), browsers warn once: check that the address is the one above, then choose Advanced and Proceed (Chrome) or Accept the risk (Firefox, Safari); the certificate's SHA-256 fingerprint in the browser is the one printed above.",
  "web.listen.in-use": "Web port {port} is already in use. Try --web {next}.",
  "web.listen.denied":
    "Not allowed to listen on {where}. Ports below 1024 need administrator rights; try --web {port}.",
  "web.listen.other": "Cannot serve the web page on {where}: {message}",
  // --- issue 12: code blocks ---
  "block.start.one": "{name} ```{lang} ({count} line)",
  "block.start.other": "{name} ```{lang} ({count} lines)",
  "error.block-too-long":
    "code block refused: {lines} lines and {bytes} bytes, over the limit of {maxLines} lines and {maxBytes} bytes. Nothing of it was sent.",
  "blocks.help.serve":
    `Code blocks (a line of three backticks, optionally with a language, starts
a block; the next line of three backticks alone ends it):
  --block-lines N     most lines in one block (default {blockLines}; 0: the
                      most allowed, {maxBlockLines})
  --block-bytes N     most bytes in one block (default {blockBytes}; 0: the
                      most allowed, {maxBlockBytes})`,
  "client.block.status":
    "code block {lang}({count} so far): a line of ``` alone sends it",
  // --- issue 12: files ---
  "client.files.offline":
    "Not connected: /send and /get work again once chat is back in the room (Up brings the line back).",
  "files.help.serve":
    `Shared files (/send and /get in chat connect, links on the page):
  --file-max-bytes N  largest file shared, in bytes, or with K or M (default 2M)
  --files-max-bytes N all shared files kept in memory together (default 64M);
                      the oldest are dropped first; all are forgotten at the stop
  --no-files          turn file sharing off (so does a limit of 0)`,
  "files.help.connect": `Files, in the chat:
  /send PATH          share a file with the room (/send NAME PATH: with NAME)
  /get N [FOLDER]     save shared file N in FOLDER (default: here), never
                      replacing a file, checked against its SHA-256`,
  "file.shared":
    '{from} shares "{name}" ({size}, sha256 {sha256}): type /get {id} in chat connect',
  "file.shared.to":
    '{from} shares "{name}" with {to} ({size}, sha256 {sha256}): type /get {id} in chat connect',
  "file.link": ", or download it at {url}",
  "error.files-off": "file sharing is off in this room.",
  "error.file-too-big": "the file is too big ({size}): the limit is {max}.",
  "error.file-busy":
    "a file transfer is already under way: wait for it to end.",
  "error.file-join-first": "join the room (/nick NAME) before sharing a file.",
  "error.file-no-upload":
    "no file upload is under way (send file-offer first).",
  "error.file-mismatch":
    'the file "{name}" received does not match its size or SHA-256: it was not shared.',
  "error.file-stalled":
    'nothing more of the file "{name}" arrived for {seconds} s: the upload was cancelled.',
  "error.file-gone":
    "there is no file {id} (it may have been dropped to make room).",
  "client.file.usage-send":
    "usage: /send PATH (to the room) or /send NAME PATH (to one person)",
  "client.file.usage-get": "usage: /get N [FOLDER]",
  "client.file.cannot-read": 'cannot read "{path}": {message}',
  "client.file.busy": "a file is already being sent: wait for it to end.",
  "client.file.progress-up": 'sending "{name}": {percent}% of {size}',
  "client.file.progress-down": 'receiving "{name}": {percent}% of {size}',
  "client.file.saved": "file {id} saved as {path} ({size}, SHA-256 checked).",
  "client.file.mismatch":
    "file {id} does not match its SHA-256: the partial file {path} was deleted.",
  "client.file.cannot-save": 'cannot save file {id} in "{dir}": {message}',
  "client.file.interrupted":
    "the connection dropped during the transfer of file {id}: try again.",
  "client.file.upload-interrupted":
    'the connection dropped while sending "{name}": try /send again.',
};

/** A key of the catalogues. */
export type MessageKey = keyof typeof CATALOG_EN;
