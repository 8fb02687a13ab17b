# -*- coding: utf-8 -*-
# Copyright: harbor-twisted contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """The connection options every module of the collection shares."""

    DOCUMENTATION = r"""
options:
  url:
    description:
      - Base URL of the registry, for example C(https://registry.example.com).
      - The modules call C(URL/api/v2.0/...).
    type: str
    required: true
  username:
    description:
      - User to authenticate as (HTTP Basic), usually a system administrator.
    type: str
    default: admin
  password:
    description:
      - That user's password.
    type: str
    required: true
  validate_certs:
    description:
      - Whether to verify the server's TLS certificate.
    type: bool
    default: true
  ca_path:
    description:
      - PEM file of the certificate authority that signed the server's certificate.
    type: path
notes:
  - Set the connection options once for a play with
    C(module_defaults) and the group C(group/harbor_twisted.registry.all).
"""

    CHECK_MODE = r"""
attributes:
  check_mode:
    description: Predicts the change without calling any writing endpoint.
    support: full
  diff_mode:
    description: Shows the managed fields before and after.
    support: full
"""

    INFO = r"""
attributes:
  check_mode:
    description: Reads in check mode too.
    support: full
  diff_mode:
    description: No diff.
    support: none
"""

    ACTION = r"""
attributes:
  check_mode:
    description: Reports the job it would start without starting it.
    support: full
  diff_mode:
    description: No diff.
    support: none
options:
  wait:
    description: Wait until the job ends; fail when it failed.
    type: bool
    default: false
  wait_timeout:
    description: How many seconds to wait at most.
    type: int
    default: 600
"""
