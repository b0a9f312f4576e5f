import requests

BASE_URL = "http://localhost:8000"
# Login
response = requests.post(
    f"{BASE_URL}/login", json={"username": "johndoe", "password": "securepass123"}
)
token = response.json()["token"]
# Create task
headers = {"Authorization": token}
response = requests.post(
    f"{BASE_URL}/api/v1/tasks",
    headers=headers,
    json={
        "name": "Review documentation",
        "description": "Check all API docs for accuracy",
        "priority": "high",
    },
)
task = response.json()
print(f"Created task: {task['task_id']}")
