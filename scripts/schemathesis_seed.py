"""Seed data for scripts/schemathesis, through the API itself.

Signs up a chain (its owner's bearer token is what the run uses) and records a little of
everything. Most kinds get records to read and change (`*_IDS`) and spare ones for the
operations that remove or close them (`*_SPARE_IDS`: DELETE, erase, void, ...), so that a
DELETE early in the run does not leave the reads and PATCHes with nothing but 404s. Prints
shell assignments: TOKEN, OWNER_ID, and space-separated ids.

    python3 scripts/schemathesis_seed.py http://127.0.0.1:PORT
"""

import json
import sys
import urllib.request

BASE = sys.argv[1]
TOKEN = None


def call(method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(BASE + path, method=method, data=data)
    if data is not None:
        request.add_header("content-type", "application/json")
    if TOKEN:
        request.add_header("authorization", "Bearer " + TOKEN)
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


signup = call("POST", "/api/v1/signup", {
    "tenant_name": "Schemathesis 美容连锁", "owner_name": "张丽", "email": "owner@example.com",
    "password": "a long password", "timezone": "Asia/Shanghai", "locale": "zh-CN",
})
TOKEN = signup["token"]

stores = [
    call("POST", "/api/v1/stores", {"name": name, "timezone": "Asia/Shanghai"})["id"]
    for name in ("静安店", "徐汇店", "长宁店")
]
staff = [
    call("POST", "/api/v1/staff", {
        "name": name, "email": email, "password": "another long password", "role": role,
        "store_id": stores[0],
    })["id"]
    for name, email, role in (
        ("王芳", "front@example.com", "front_desk"),
        ("李娜", "beautician@example.com", "beautician"),
        ("赵敏", "spare@example.com", "front_desk"),
    )
]
services = [
    call("POST", "/api/v1/services", {
        "name": name, "price_cents": price, "duration_minutes": 60, "category": "面部护理",
    })["id"]
    for name, price in (("深层补水护理", 39800), ("肩颈按摩", 19800), ("眼部护理", 29800))
]
clients = [
    call("POST", "/api/v1/clients", {
        "name": name, "phone": phone, "home_store_id": stores[0], "birthday": "03-08",
        "marketing_consent": True, "tags": ["vip"],
    })["id"]
    for name, phone in (
        ("张三丰", "13712345678"), ("李四", "13912345678"), ("王五", "13812345678"),
        ("赵六", "13612345678"), ("钱七", "13512345678"),
    )
]
visits = [
    call("POST", "/api/v1/visits", {
        "client_id": client, "store_id": stores[0], "staff_id": staff[1],
        "completed_at": "2026-01-10T10:30:00+08:00", "lines": [{"service_id": services[0]}],
        "payment_method": "wechat_pay",
    })["id"]
    for client in clients
]
complaints = [
    call("POST", "/api/v1/complaints", {
        "client_id": clients[i], "visit_id": visits[i], "summary": "护理后皮肤发红",
    })["id"]
    for i in range(2)
]
exports = [
    call("POST", "/api/v1/exports", {"purpose": purpose})["id"]
    for purpose in ("annual mailing", "membership audit")
]
templates = [
    call("POST", "/api/v1/templates", {
        "kind": kind, "channel": "sms", "locale": "zh-CN",
        "body": "亲爱的{{ client_name }}，{{ store_name }}祝您美丽每一天。",
    })["id"]
    for kind in ("birthday", "wake_up")
]
# The complaints above queued alerts to the owner, so the outbox has messages.
messages = [message["id"] for message in call("GET", "/api/v1/messages")["items"]]

for name, ids in {
    "TOKEN": [TOKEN],
    "OWNER_ID": [signup["owner_id"]],
    "STORE_IDS": stores[:2], "STORE_SPARE_IDS": stores[2:],
    "STAFF_IDS": staff[:2], "STAFF_SPARE_IDS": staff[2:],
    "SERVICE_IDS": services[:2], "SERVICE_SPARE_IDS": services[2:],
    "CLIENT_IDS": clients[:3], "CLIENT_SPARE_IDS": clients[3:],
    "VISIT_IDS": visits[:3], "VISIT_SPARE_IDS": visits[3:],
    "COMPLAINT_IDS": complaints, "COMPLAINT_SPARE_IDS": complaints,
    "EXPORT_IDS": exports, "EXPORT_SPARE_IDS": exports,
    "TEMPLATE_IDS": templates[:1], "TEMPLATE_SPARE_IDS": templates[1:],
    "MESSAGE_IDS": messages, "MESSAGE_SPARE_IDS": messages,
}.items():
    print(f"{name}='{' '.join(ids)}'")
