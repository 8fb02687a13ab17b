"""LDAP / Active Directory authentication (``auth_mode: ldap_auth``) with python-ldap.

settings.py builds the connection settings, client.py talks to the directory with
timeouts, dn.py compares DNs, directory.py finds users and their (nested) groups,
authenticator.py turns a login into a principal (in a thread, never on the reactor) and
service.py backs the ``/ldap`` API. Users and groups are onboarded by db/ldap_store.py.
"""
