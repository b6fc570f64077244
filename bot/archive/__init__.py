"""The chat-archive reader (会话内容存档): customer-group messages into the inbox.

reader.py pulls and fences the cursor; sdk.py runs the native SDK in a child process (child.py)
over a framed pipe protocol (protocol.py); keys.py loads the RSA private keys; fake.py is the
sandbox's archive behind the same interface as the SDK wrapper.
"""
