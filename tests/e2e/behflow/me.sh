curl -X GET http://localhost:8000/me \
-H "Authorization: <token>"
