# Le client de la série 3 du cours 4INOC01 (« Conversations »), porté en
# Python 3 pour les tests de bout en bout de `chat serve`.
#
# Fidèle à l'énoncé : il se connecte au serveur, puis deux activités en
# parallèle : un thread affiche ce qu'il reçoit (recv 1024, decode, print),
# le programme principal lit le clavier et envoie chaque ligne SANS retour à
# la ligne (c.send(t.encode())). « stop » arrête le client.
#
# Seuls écarts avec la version Python 2 de la série : print() et input()
# de Python 3, les .encode()/.decode() que Python 3 exige, l'hôte et le port
# lus sur la ligne de commande (python3 client_serie3.py HOTE PORT), et la
# boucle de réception qui s'arrête quand le serveur ferme la connexion
# (recv renvoie alors b"" indéfiniment).

import socket
import sys
import threading

host = sys.argv[1] if len(sys.argv) > 1 else '127.0.0.1'
port = int(sys.argv[2]) if len(sys.argv) > 2 else 5000

c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
try:
    c.connect((host, port))
except:
    print("Connexion impossible")
    sys.exit()


class Reception(threading.Thread):
    """Affiche les messages reçus du serveur."""

    def __init__(self, connexion):
        threading.Thread.__init__(self)
        self.connexion = connexion

    def run(self):
        while True:
            m = self.connexion.recv(1024)
            if not m:
                break
            print(m.decode())


print("Envoyez vos messages !")
reception = Reception(c)
reception.daemon = True
reception.start()

while True:
    t = input()
    c.send(t.encode())
    if t == "stop":
        break

c.close()
