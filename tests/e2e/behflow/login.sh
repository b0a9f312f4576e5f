curl -X POST http://localhost:8000/login \
-H "Content-Type: application/json" \
-d '{
"username": "johndoe",
"password": "securepass123"
}'
