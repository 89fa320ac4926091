;; SPDX-License-Identifier: Apache-2.0
;; Test guest: a start function that traps. Uploading it is a rejected
;; module (GR_EINVALID_MODULE), not a server error.
(module
  (func $boom unreachable)
  (func (export "_start"))
  (start $boom))
