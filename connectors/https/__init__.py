"""The web interface of controllers and servers: TLS handshakes and GET / only."""
