curl -X POST http://localhost:8000/register \
-H "Content-Type: application/json" \
-d '{
"username": "johndoe",
"password": "securepass123",
"name": "John",
"lastname": "Doe"
}'
