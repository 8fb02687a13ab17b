"""LDAP / Active Directory authentication (``auth_mode: ldap_auth``) with python-ldap.

settings.py builds the connection settings, client.py talks to the directory with
timeouts, dn.py compares DNs, directory.py finds users and their (nested) groups,
login.py runs a conversation in a thread (never on the reactor) and onboards a login.
Principals (core/ldap_login.py) and the ``/ldap`` API rules (core/ldap_admin.py) live in
core: this package knows nothing above the database. Users and groups are onboarded by
db/ldap_store.py.
"""
