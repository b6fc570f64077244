"""qunbot: WeCom bot for store community groups."""
