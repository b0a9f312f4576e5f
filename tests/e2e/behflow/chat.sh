curl -X POST http://localhost:8000/api/v1/chat \
-H "Content-Type: application/json" \
-H "Authorization: <token>" \
-d '{
"message": "Create a task to review project documentation",
"session_id": "abc-123"
}'
