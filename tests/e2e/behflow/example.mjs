const BASE_URL = "http://localhost:8000";
// Login
const loginResponse = await fetch(`${BASE_URL}/login`, {
method: "POST",
headers: { "Content-Type": "application/json" },
body: JSON.stringify({
username: "johndoe",
password: "securepass123"
})
});
const { token } = await loginResponse.json();
// Create task
const taskResponse = await fetch(`${BASE_URL}/api/v1/tasks`, {
method: "POST",
headers: {
"Content-Type": "application/json",
"Authorization": token
},
body: JSON.stringify({
name: "Review documentation",
description: "Check all API docs for accuracy",
priority: "high"
})
});
const task = await taskResponse.json();
console.log(`Created task: ${task.task_id}`);
